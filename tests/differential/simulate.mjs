#!/usr/bin/env node
// Differential-test driver: evaluates IAM authorization cases with @cloud-copilot/iam-simulate.
//
// stdin:  one JSON case per line (see README.md). Blank lines are skipped.
// stdout: one JSON result per non-blank input line, in input order:
//           {"id": ..., "decision": "Allow" | "ExplicitDeny" | "ImplicitDeny"}
//           {"id": ..., "error": "<message>"}
//         Messages starting with "driver:" come from this script's own checks, the others
//         from iam-simulate.
//
// The whole of stdin is read before anything is evaluated or written, so a caller may write
// every case, close stdin and only then read stdout without risking a pipe deadlock.
//
// Options:
//   --lenient-context  evaluate even when iam-simulate drops context keys that do not apply to
//                      the action/resource (default: report an error), and list the dropped keys
//                      in "ignored_context_keys".

import {
  isConditionKeyArray,
  runSimulation,
  typeForContextKey
} from '@cloud-copilot/iam-simulate'

const lenientContext = process.argv.includes('--lenient-context')

const DECISIONS = {
  Allowed: 'Allow',
  ExplicitlyDenied: 'ExplicitDeny',
  ImplicitlyDenied: 'ImplicitDeny'
}

class DriverError extends Error {}

function fail(message) {
  throw new DriverError(`driver: ${message}`)
}

function parseDocument(text, what) {
  if (typeof text !== 'string') {
    fail(`${what} must be a JSON string holding the policy document`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    fail(`${what} is not valid JSON: ${e.message}`)
  }
}

// AWS passes every context value as a string; iam-simulate compares only strings (a JSON
// boolean `true` would never match `Bool: {"k": "true"}`), so scalars are stringified.
function contextScalar(key, v) {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  fail(`context value of ${key} must be a string, number, boolean or an array of those`)
}

async function contextVariables(context) {
  if (context === undefined || context === null) return {}
  if (typeof context !== 'object' || Array.isArray(context)) fail('context must be an object')
  const out = {}
  for (const [key, raw] of Object.entries(context)) {
    const value = Array.isArray(raw)
      ? raw.map((v) => contextScalar(key, v))
      : contextScalar(key, raw)
    // iam-simulate silently coerces a value whose shape does not fit the key's type (an array
    // for a single-valued key becomes its first element; a string for a multivalued key becomes
    // a one-element set). Refuse instead, so both engines see the same request.
    let type
    try {
      type = await typeForContextKey(key)
    } catch {
      type = undefined // unknown key: iam-simulate will drop it (reported below)
    }
    if (type !== undefined) {
      const multi = isConditionKeyArray(type)
      if (multi && !Array.isArray(value)) {
        fail(`context key ${key} is multivalued (${type}); give it as a JSON array`)
      }
      if (!multi && Array.isArray(value)) {
        fail(`context key ${key} is single-valued (${type}); give it as a string`)
      }
    }
    out[key] = value
  }
  return out
}

// iam-simulate takes one session policy. Several session policies (inline + managed) combine
// like several identity policies: any Allow in any of them counts, so their statements are
// concatenated into one document. They must agree on Version (it decides whether ${...} is a
// policy variable).
function sessionPolicy(session) {
  if (session === undefined || session === null) return undefined
  if (!Array.isArray(session)) fail('session must be null or an array of policy strings')
  const docs = session.map((s, i) => parseDocument(s, `session[${i}]`))
  if (docs.length === 0) {
    // A session whose session policies allow nothing.
    return { Version: '2012-10-17', Statement: [] }
  }
  if (docs.length === 1) return docs[0]
  const statements = []
  const merged = {}
  docs.forEach((doc, i) => {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      fail(`session[${i}] is not a JSON object`)
    }
    if (doc.Statement === undefined) fail(`session[${i}] has no Statement`)
    if (doc.Version !== docs[0].Version) {
      fail('session policies with different Version values cannot be merged')
    }
    Object.assign(merged, doc) // carries any stray top-level key to the validator
    statements.push(...(Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]))
  })
  merged.Statement = statements
  return merged
}

function describeErrors(errors) {
  const parts = [errors.message]
  const add = (label, list) => {
    for (const e of list) parts.push(`${label}${e.path ? ` ${e.path}` : ''}: ${e.message}`)
  }
  const addMap = (map) => {
    for (const [name, list] of Object.entries(map ?? {})) add(name, list)
  }
  add('session', errors.sessionPolicyErrors ?? [])
  addMap(errors.identityPolicyErrors)
  add('resource_policy', errors.resourcePolicyErrors ?? [])
  addMap(errors.permissionBoundaryErrors)
  addMap(errors.serviceControlPolicyErrors)
  addMap(errors.resourceControlPolicyErrors)
  addMap(errors.vpcEndpointErrors)
  for (const e of errors.anonymousRequestErrors ?? []) parts.push(e)
  return parts.join('; ')
}

async function evaluate(c) {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) fail('case must be a JSON object')
  for (const field of ['principal', 'action', 'resource', 'resource_account']) {
    if (typeof c[field] !== 'string') fail(`${field} must be a string`)
  }
  const identity = c.identity ?? []
  if (!Array.isArray(identity)) fail('identity must be an array of policy strings')

  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resource_account },
      contextVariables: await contextVariables(c.context)
    },
    identityPolicies: identity.map((p, i) => ({
      name: `identity[${i}]`,
      policy: parseDocument(p, `identity[${i}]`)
    })),
    // No Organizations: no SCPs, and no RCPs (with none given, not even RCPFullAWSAccess).
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
  if (c.resource_policy !== undefined && c.resource_policy !== null) {
    simulation.resourcePolicy = parseDocument(c.resource_policy, 'resource_policy')
  }
  if (c.boundary !== undefined && c.boundary !== null) {
    simulation.permissionBoundaryPolicies = [
      { name: 'boundary', policy: parseDocument(c.boundary, 'boundary') }
    ]
  }
  const session = sessionPolicy(c.session)
  if (session !== undefined) simulation.sessionPolicy = session

  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') return { error: describeErrors(response.errors) }
  if (response.resultType !== 'single') {
    fail(`resource ${c.resource} is a pattern (iam-simulate ran a ${response.resultType} simulation); give one concrete resource`)
  }
  const decision = DECISIONS[response.overallResult]
  if (!decision) fail(`unexpected iam-simulate result ${response.overallResult}`)
  const ignored = response.result.ignoredContextKeys ?? []
  if (ignored.length > 0) {
    if (!lenientContext) {
      fail(`iam-simulate drops context keys that do not apply to ${c.action} on this resource: ${ignored.join(', ')}`)
    }
    return { decision, ignored_context_keys: ignored }
  }
  return { decision }
}

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function main() {
  const lines = (await readStdin()).split('\n')
  const out = []
  let lineNo = 0
  for (const line of lines) {
    lineNo++
    if (line.trim() === '') continue
    let c
    try {
      c = JSON.parse(line)
    } catch (e) {
      out.push(JSON.stringify({ id: null, error: `driver: line ${lineNo} is not valid JSON: ${e.message}` }))
      continue
    }
    const id = c?.id ?? null
    let result
    try {
      result = await evaluate(c)
    } catch (e) {
      result = { error: e instanceof DriverError ? e.message : `iam-simulate threw: ${e?.message ?? e}` }
    }
    out.push(JSON.stringify({ id, ...result }))
  }
  const text = out.length ? out.join('\n') + '\n' : ''
  await new Promise((resolve, reject) =>
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()))
  )
}

main().catch((e) => {
  process.stderr.write(`simulate.mjs: ${e?.stack ?? e}\n`)
  process.exit(2)
})
