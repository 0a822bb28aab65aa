"""AssumeRoleWithWebIdentity load benchmark, run by scripts/bench (not a test).

Starts the test IdP (tests/python/oidc_idp.py, plain HTTP: the server under test runs with
TESSERA_OIDC_INSECURE_HTTP=true), registers it with the running Tessera, warms the JWKS cache
with one call, then replays one unsigned POST with wrk. Afterwards it sends a bounded burst of
tokens whose kid the IdP never published and reports how many JWKS fetches the burst caused:
the cache allows at most one per refresh interval.

Usage: python scripts/bench_web_identity.py ENDPOINT CREDENTIALS_FILE SECONDS CONNECTIONS
"""

import configparser
import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))
from oidc_idp import TestIdP  # noqa: E402

endpoint, creds_file, secs, conns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = configparser.ConfigParser()
c.read(creds_file)
d = c["default"]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id=d["aws_access_key_id"], aws_secret_access_key=d["aws_secret_access_key"])
iam = boto3.client("iam", **kw)

idp = TestIdP()
arn = iam.create_open_id_connect_provider(Url=idp.issuer, ClientIDList=["bench"])["OpenIDConnectProviderArn"]
trust = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {f"{idp.host_path}:aud": "bench"}}}]}
role = iam.create_role(RoleName="bench-web", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def body(token: str) -> str:
    return urllib.parse.urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                   "RoleArn": role, "RoleSessionName": "bench",
                                   "WebIdentityToken": token})


def call(token: str) -> int:
    req = urllib.request.Request(endpoint + "/", data=body(token).encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


token = idp.mint(idp.claims(aud="bench", lifetime=3600))
assert call(token) == 200, "warm-up AssumeRoleWithWebIdentity failed"
with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
    lua.write('wrk.method = "POST"\n')
    lua.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
    lua.write(f"wrk.body = {json.dumps(body(token))}\n")
print("### AssumeRoleWithWebIdentity (unsigned POST, warm JWKS cache)", flush=True)
out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", "-s", lua.name, endpoint + "/"],
                     capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    if any(k in line for k in ("Requests/sec", "50%", "99%", "Non-2xx", "Socket errors")):
        print(line)

before = idp.jwks_fetches
unknown = [idp.mint(idp.claims(aud="bench"), headers={"kid": f"never-published-{i}"}) for i in range(200)]
with ThreadPoolExecutor(max_workers=32) as pool:
    statuses = list(pool.map(call, unknown))
print(f"### burst: 200 tokens with unknown kids from 32 threads -> statuses {sorted(set(statuses))}, "
      f"JWKS fetches caused: {idp.jwks_fetches - before} (at most 1 per refresh interval)")
idp.close()
