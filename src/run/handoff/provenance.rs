//! Where a saved plan came from and what kind of plan it is, checked before anything else
//! is done with it. In: the [`PlanFile`] read from the plan dir, and what this run wrote and
//! names (the module, the lock file, the backend). Out: one line saying why the plan is not a
//! normal, whole plan of lambda-gitops's module on this run's state — or nothing.
//!
//! The plan's record (`tfplan`, a protocol buffer) says its mode (field 17), its targets
//! (5), the addresses it forces to be replaced (16), whether it errored (20) and its backend
//! (13: type, configuration as MessagePack, workspace).

use super::refusal::Refusal;
use std::collections::BTreeMap;

use super::manifest::lock_selections;
use super::plan_file::{bytes_fields, protobuf_fields, varint_field, Field, PlanFile};
use crate::terraform::backend::BackendSettings;
use crate::terraform::module::{ModuleFiles, LOCK_FILE};

/// `ResourceInstanceActionReason.REPLACE_BY_REQUEST`: `plan -replace=…`.
const REPLACE_BY_REQUEST: u64 = 2;

/// The saved plan is a normal plan of the whole configuration: not a destroy or
/// refresh-only plan, no `-target`, no `-replace`, not errored. Only `lambda-gitops destroy`
/// applies a destroy, and only from a plan it makes itself.
pub fn check_intent(plan: &PlanFile) -> Result<(), Refusal> {
    let fields = protobuf_fields(&plan.tfplan).ok_or(Refusal::PlanUnreadable)?;
    match varint_field(&fields, 17) {
        0 => {}
        1 => return Err(Refusal::Destroy),
        2 => return Err(Refusal::RefreshOnly),
        other => return Err(Refusal::UnknownMode(other)),
    }
    let listed = |number: u32| -> Vec<String> {
        bytes_fields(&fields, number)
            .into_iter()
            .map(|addr| crate::problem::excerpt(&String::from_utf8_lossy(addr)))
            .collect()
    };
    let targets = listed(5);
    if !targets.is_empty() {
        return Err(Refusal::Targets(targets));
    }
    // `-replace` shows as the reason of a resource change (12 = REPLACE_BY_REQUEST): terraform
    // does not keep the list (16) in the file it writes.
    let mut replaced = listed(16);
    for change in bytes_fields(&fields, 3) {
        let change = protobuf_fields(change).ok_or(Refusal::PlanUnreadable)?;
        if varint_field(&change, 12) == REPLACE_BY_REQUEST {
            let address = bytes_fields(&change, 13)
                .first()
                .copied()
                .unwrap_or_default();
            replaced.push(crate::problem::excerpt(&String::from_utf8_lossy(address)));
        }
    }
    if !replaced.is_empty() {
        return Err(Refusal::Replaces(replaced));
    }
    if varint_field(&fields, 20) != 0 {
        return Err(Refusal::Errored);
    }
    Ok(())
}

/// The saved plan's own configuration, lock file and backend must be exactly what this run
/// wrote and names.
pub fn check_made_from(
    plan: &PlanFile,
    module: &ModuleFiles,
    lock: &str,
    backend_config: &[String],
    backend: &BackendSettings,
) -> Result<(), Refusal> {
    let ours: BTreeMap<String, Vec<u8>> = module
        .files
        .iter()
        .filter(|(name, _)| name != LOCK_FILE)
        .map(|(name, text)| (name.clone(), text.as_bytes().to_vec()))
        .collect();
    if plan.config != ours {
        return Err(Refusal::OtherConfiguration);
    }
    // Terraform writes the lock file anew into the plan: the same selections, its own text.
    if plan.lock.as_ref().is_some_and(|saved| {
        lock_selections(&String::from_utf8_lossy(saved)) != lock_selections(lock)
    }) {
        return Err(Refusal::OtherLock);
    }
    check_backend(&plan.tfplan, backend.backend.name(), backend_config)
}

/// The backend stored in the plan (`tfplan`, a protocol buffer: field 13 holds the type,
/// its configuration as a MessagePack object, and the workspace) must be this run's: its
/// type, each `-backend-config` value, nothing else set, the default workspace.
fn check_backend(tfplan: &[u8], kind: &str, pairs: &[String]) -> Result<(), Refusal> {
    let unreadable = || Refusal::BackendUnreadable;
    let backend = protobuf_fields(tfplan)
        .ok_or_else(unreadable)?
        .iter()
        .find_map(|(field, value)| match value {
            Field::Bytes(bytes) if *field == 13 => Some(*bytes),
            _ => None,
        })
        .ok_or_else(unreadable)?;
    let fields = protobuf_fields(backend).ok_or_else(unreadable)?;
    let field = |number: u32| bytes_fields(&fields, number).first().copied();
    let saved_kind = field(1).map(String::from_utf8_lossy).unwrap_or_default();
    let workspace = field(3).map(String::from_utf8_lossy).unwrap_or_default();
    let msgpack = field(2)
        .and_then(protobuf_fields)
        .and_then(|dynamic| bytes_fields(&dynamic, 1).first().copied())
        .ok_or_else(unreadable)?;
    // A backend's settings are a few hundred bytes; a larger value is not decoded.
    if msgpack.len() > 64 << 10 {
        return Err(unreadable());
    }
    let config = rmpv::decode::read_value(&mut &msgpack[..]).map_err(|_| unreadable())?;
    if saved_kind != kind {
        return Err(Refusal::OtherBackend {
            saved: crate::problem::excerpt(&saved_kind),
            ours: kind.to_owned(),
        });
    }
    if workspace != "default" {
        return Err(Refusal::OtherWorkspace);
    }
    same_settings(&config, pairs)
}

/// The backend configuration saved in the plan (a MessagePack object) sets exactly this
/// run's `-backend-config` `pairs`, each to the same value.
fn same_settings(config: &rmpv::Value, pairs: &[String]) -> Result<(), Refusal> {
    let unreadable = || Refusal::BackendUnreadable;
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for pair in pairs {
        if let Some((key, value)) = pair.split_once('=') {
            wanted.insert(key.trim(), value);
        }
    }
    let entries = config.as_map().ok_or_else(unreadable)?;
    let mut seen = 0;
    for (key, value) in entries {
        let key = key.as_str().ok_or_else(unreadable)?;
        let text = match value {
            rmpv::Value::Nil => continue,
            rmpv::Value::String(s) => s.as_str().unwrap_or_default().to_owned(),
            rmpv::Value::Boolean(b) => b.to_string(),
            rmpv::Value::Integer(i) => i.to_string(),
            rmpv::Value::F64(f) => f.to_string(),
            _ => String::from("(a structured value)"),
        };
        match wanted.get(key) {
            Some(value) if *value == text => seen += 1,
            _ => return Err(Refusal::OtherSetting(crate::problem::excerpt(key))),
        }
    }
    if seen != wanted.len() {
        return Err(Refusal::MissingSetting);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    fn intent(tfplan: Vec<u8>) -> Result<(), Refusal> {
        check_intent(&PlanFile {
            tfplan,
            ..PlanFile::default()
        })
    }

    #[test]
    fn destroy_refresh_only_targeted_and_replacing_plans_are_refused() {
        assert_eq!(intent(vec![0x08, 0x03]), Ok(()));
        // 17: varint (key 17 << 3 = 0x88 0x01)
        let destroy = intent(vec![0x08, 0x03, 0x88, 0x01, 0x01])
            .unwrap_err()
            .to_string();
        assert!(destroy.contains("destroy plan"), "{destroy}");
        let refresh = intent(vec![0x88, 0x01, 0x02]).unwrap_err().to_string();
        assert!(refresh.contains("refresh-only"), "{refresh}");
        let target = intent(field(5, b"aws_lambda_function.this[\"staging\"]"))
            .unwrap_err()
            .to_string();
        assert!(
            target.contains("targets `aws_lambda_function.this[\"staging\"]`"),
            "{target}"
        );
        let mut replace = vec![0x82, 0x01, 5];
        replace.extend_from_slice(b"aws.x");
        let replace = intent(replace).unwrap_err().to_string();
        assert!(
            replace.contains("forces the replacement of `aws.x`"),
            "{replace}"
        );
        // 3: a resource change { 13: "aws.y", 12: varint 2 }
        let mut change = field(13, b"aws.y");
        change.extend([0x60, 0x02]);
        let replace = intent(field(3, &change)).unwrap_err().to_string();
        assert!(
            replace.contains("forces the replacement of `aws.y`"),
            "{replace}"
        );
        let errored = intent(vec![0xa0, 0x01, 0x01]).unwrap_err().to_string();
        assert!(errored.contains("errored"), "{errored}");
    }

    #[test]
    fn the_backend_of_a_plan_file_is_read_from_its_protocol_buffer() {
        // field 13 { 1: "s3", 2: { 1: msgpack {bucket: "b", key: "k", encrypt: nil} }, 3: "default" }
        let mut config = Vec::new();
        let map = rmpv::Value::Map(vec![
            ("bucket".into(), "state".into()),
            ("key".into(), "lambda/a.tfstate".into()),
            ("encrypt".into(), rmpv::Value::Nil),
            ("use_lockfile".into(), true.into()),
        ]);
        rmpv::encode::write_value(&mut config, &map).unwrap();
        let dynamic = field(1, &config);
        let mut backend = field(1, b"s3");
        backend.extend(field(2, &dynamic));
        backend.extend(field(3, b"default"));
        let mut tfplan = vec![0x08, 0x01]; // a varint field first
        tfplan.extend(field(13, &backend));
        let ours = [
            "bucket=state".to_owned(),
            "key=lambda/a.tfstate".to_owned(),
            "use_lockfile=true".to_owned(),
        ];
        assert_eq!(check_backend(&tfplan, "s3", &ours), Ok(()));
        let other = [
            "bucket=state".to_owned(),
            "key=lambda/b.tfstate".to_owned(),
            "use_lockfile=true".to_owned(),
        ];
        assert_eq!(
            check_backend(&tfplan, "s3", &other),
            Err(Refusal::OtherSetting("key".to_owned()))
        );
        assert!(check_backend(&tfplan, "local", &ours).is_err());
        assert!(check_backend(&tfplan, "s3", &ours[..2]).is_err());
        assert!(check_backend(b"\xff\xff", "s3", &ours).is_err());
        assert!(check_backend(&[], "s3", &ours).is_err());
    }
}
