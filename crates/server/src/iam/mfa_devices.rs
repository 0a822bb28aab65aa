//! Virtual MFA devices: `CreateVirtualMFADevice`, `EnableMFADevice`, `ResyncMFADevice`,
//! `DeactivateMFADevice`, `DeleteVirtualMFADevice`, `ListMFADevices`, `ListVirtualMFADevices`.
//! An enabled device's codes are what `GetSessionToken` and `AssumeRole` check.

use super::tags::initial_tags;
use super::{Caller, Ctx, IamError, Snapshot, paginate, target_name, time, user_arn, users};
use crate::mfa::{Seed, qr_png};
use crate::snapshot::MfaDevice;
use crate::store::{MfaDeviceRow, OwnerTable, Store, StoreError, Write};
use std::sync::Arc;
use tessera_proto::iam::{
    Action, Assignment, MfaDeviceView, MfaRequest, MfaResponse, NewDevice, Response, Tag,
    VirtualDeviceView,
};

/// AWS's quota of MFA devices per user.
const MAX_DEVICES_PER_USER: usize = 8;
/// The issuer authenticator apps show next to the code.
const ISSUER: &str = "Tessera";

impl<S: Store> Ctx<'_, S> {
    /// A device of the caller's account.
    pub(super) fn mfa_device(&self, serial: &str) -> Result<Arc<MfaDevice>, IamError> {
        self.snapshot
            .mfa_device(serial)
            .filter(|d| d.account == self.caller.account())
            .cloned()
            .ok_or_else(|| IamError::NoSuchMfaDevice(serial.to_owned()))
    }
}

/// The resource an MFA-device request acts on: the device, or the user it is for.
pub(super) fn resource(
    m: &MfaRequest,
    snapshot: &Snapshot,
    caller: &Caller,
) -> Result<String, IamError> {
    Ok(match m {
        MfaRequest::Create { path, name, .. } => format!(
            "arn:{}:iam::{}:mfa{path}{name}",
            snapshot.partition,
            caller.account()
        ),
        MfaRequest::Codes { user, .. } => user_arn(snapshot, caller, "/", user),
        MfaRequest::Deactivate { user, .. } | MfaRequest::List { user, .. } => {
            user_arn(snapshot, caller, "/", &target_name(caller, user.as_ref())?)
        }
        MfaRequest::Delete { serial } => serial.clone(),
        MfaRequest::ListVirtual { .. } => "*".to_owned(),
    })
}

/// Runs an MFA-device request.
pub(super) async fn execute<S: Store>(
    ctx: &Ctx<'_, S>,
    m: &MfaRequest,
) -> Result<Response, IamError> {
    let response = match m {
        MfaRequest::Create { path, name, tags } => create(ctx, path, name, tags).await?,
        MfaRequest::Codes {
            user,
            serial,
            first,
            second,
        } => return codes(ctx, user, serial, first, second).await,
        MfaRequest::Deactivate { user, serial } => {
            let user = ctx.user(&target_name(ctx.caller, user.as_ref())?)?;
            let enabled_for_user = ctx.snapshot.mfa_device(serial).is_some_and(|d| {
                d.assigned
                    .as_ref()
                    .is_some_and(|(u, _)| *u == user.unique_id)
            });
            if !enabled_for_user {
                return Err(IamError::MfaNotEnabled(serial.clone()));
            }
            ctx.write(&[Write::AssignMfaDevice {
                serial: serial.clone(),
                assignment: None,
            }])
            .await?;
            return Ok(Response::Empty(Action::DeactivateMFADevice));
        }
        MfaRequest::Delete { serial } => {
            let device = ctx.mfa_device(serial)?;
            if device.assigned.is_some() {
                return Err(IamError::Conflict(
                    "MFA VirtualDevice in use. Must deactivate first.",
                ));
            }
            ctx.write(&[Write::DeleteMfaDevice {
                serial: device.serial.clone(),
            }])
            .await?;
            return Ok(Response::Empty(Action::DeleteVirtualMFADevice));
        }
        MfaRequest::List { user, page } => {
            let user = ctx.user(&target_name(ctx.caller, user.as_ref())?)?;
            let devices = ctx.snapshot.mfa_devices_of(&user.unique_id);
            let (devices, more) = paginate(devices, page, |d| d.serial.clone())?;
            MfaResponse::Devices(
                devices
                    .iter()
                    .filter_map(|d| {
                        d.assigned.as_ref().map(|(_, enabled)| MfaDeviceView {
                            user_name: user.name.clone(),
                            serial: d.serial.clone(),
                            enabled: time(*enabled),
                        })
                    })
                    .collect(),
                more,
            )
        }
        MfaRequest::ListVirtual { assignment, page } => {
            let devices: Vec<&Arc<MfaDevice>> = ctx
                .snapshot
                .mfa_devices_in(ctx.caller.account())
                .into_iter()
                .filter(|d| match assignment {
                    Assignment::Any => true,
                    Assignment::Assigned => d.assigned.is_some(),
                    Assignment::Unassigned => d.assigned.is_none(),
                })
                .collect();
            let (devices, more) = paginate(devices, page, |d| d.serial.clone())?;
            MfaResponse::Virtual(
                devices
                    .iter()
                    .map(|d| VirtualDeviceView {
                        serial: d.serial.clone(),
                        assigned: d.assigned.as_ref().and_then(|(user_id, enabled)| {
                            ctx.snapshot
                                .user(user_id)
                                .map(|u| (users::view(u, false), time(*enabled)))
                        }),
                    })
                    .collect(),
                more,
            )
        }
    };
    Ok(Response::Mfa(response))
}

async fn create<S: Store>(
    ctx: &Ctx<'_, S>,
    path: &str,
    name: &str,
    tags: &[Tag],
) -> Result<MfaResponse, IamError> {
    let account = ctx.caller.account();
    let serial = format!(
        "arn:{}:iam::{account}:mfa{path}{name}",
        ctx.snapshot.partition
    );
    if ctx.snapshot.mfa_device(&serial).is_some() {
        return Err(IamError::MfaDeviceExists);
    }
    let tag_rows = initial_tags(tags, "TagsPerMFADevice: 50")?;
    let seed = Seed::generate()?;
    let qr = qr_png(&seed.otpauth_uri(&format!("{name}@{account}"), ISSUER))?;
    let written = ctx
        .write(&[
            Write::InsertMfaDevice(MfaDeviceRow {
                serial: serial.clone(),
                account_id: account.to_string(),
                name: name.to_owned(),
                path: path.to_owned(),
                seed_sealed: ctx.app.master.seal(&serial, seed.bytes())?,
                user_id: None,
                enabled_at: None,
                created_at: ctx.now.unix_timestamp(),
            }),
            Write::SetTags {
                table: OwnerTable::MfaDevice,
                owner_id: serial.clone(),
                tags: tag_rows,
            },
        ])
        .await;
    match written {
        Err(IamError::Store(StoreError::Conflict)) => return Err(IamError::MfaDeviceExists),
        other => other?,
    }
    Ok(MfaResponse::Created(NewDevice {
        serial,
        seed_base32: seed.base32().to_string(),
        qr_png: qr,
    }))
}

/// `EnableMFADevice` and `ResyncMFADevice`: both prove possession with two consecutive codes.
async fn codes<S: Store>(
    ctx: &Ctx<'_, S>,
    user_name: &str,
    serial: &str,
    first: &str,
    second: &str,
) -> Result<Response, IamError> {
    let user = ctx.user(user_name)?;
    let device = ctx.mfa_device(serial)?;
    let now = ctx.now.unix_timestamp();
    if ctx.action == Action::EnableMFADevice {
        if device.assigned.is_some() {
            return Err(IamError::MfaDeviceInUse);
        }
        if ctx.snapshot.mfa_devices_of(&user.unique_id).len() >= MAX_DEVICES_PER_USER {
            return Err(IamError::Quota("MFADevicesPerUser: 8"));
        }
    } else if device
        .assigned
        .as_ref()
        .is_none_or(|(u, _)| *u != user.unique_id)
    {
        return Err(IamError::MfaNotEnabled(serial.to_owned()));
    }
    if !device.seed.verify_consecutive(first, second, now) {
        return Err(IamError::InvalidAuthenticationCode);
    }
    if ctx.action == Action::EnableMFADevice {
        ctx.write(&[Write::AssignMfaDevice {
            serial: device.serial.clone(),
            assignment: Some((user.unique_id.clone(), now)),
        }])
        .await?;
    }
    Ok(Response::Empty(ctx.action))
}
