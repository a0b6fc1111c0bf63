//! A saved plan file (`plan.tfplan`: the zip archive terraform writes) read as untrusted
//! input. In: the file's path. Out: a [`PlanFile`] — the embedded configuration, the lock
//! file, the plan's own record (`tfplan`, a protocol buffer) and the lineage and serial of the
//! state it was made against — or one line saying why it is not a plan lambda-gitops made.
//!
//! The archive is streamed entry by entry: at most [`UNZIPPED_LIMIT`] bytes are unzipped in
//! all, and at most [`HELD_LIMIT`] of them are kept in memory (the record and the
//! configuration); the prior state is parsed as it streams (only its lineage and serial are
//! kept) and the previous run's state is not unzipped at all. A zip bomb is refused when it
//! crosses a limit, never read whole.

use super::refusal::Refusal;
use std::collections::BTreeMap;
use std::io::{BufReader, Read, Seek};

use serde::Deserialize;

/// The most a plan file may weigh on disk.
pub const FILE_LIMIT: u64 = 64 << 20;
/// The most its entries may unzip to, in all.
pub const UNZIPPED_LIMIT: u64 = 256 << 20;
/// The most of that kept in memory: the plan's record and the configuration.
pub const HELD_LIMIT: u64 = 64 << 20;
/// The most the plan's record (`tfplan`) may unzip to: a plan of a hundred deployments is a
/// few megabytes.
const TFPLAN_LIMIT: u64 = 16 << 20;
/// The most fields a protocol buffer message may hold here.
const MAX_FIELDS: usize = 1 << 20;

/// The state a plan was made against, as terraform identifies it: a first plan (no state
/// yet) has neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StateMeta {
    #[serde(default)]
    pub lineage: String,
    #[serde(default)]
    pub serial: u64,
}

/// What a plan file holds that the handoff checks.
#[derive(Debug, Default)]
pub struct PlanFile {
    /// `tfplan`: the plan's record (protocol buffer).
    pub tfplan: Vec<u8>,
    /// `tfconfig/m-/<file>`: the root module's files as terraform read them.
    pub config: BTreeMap<String, Vec<u8>>,
    /// `.terraform.lock.hcl`, when the plan carries one.
    pub lock: Option<Vec<u8>>,
    /// `tfstate`: the state the plan was made against.
    pub prior_state: StateMeta,
}

/// Unzipped bytes read so far, against both limits.
#[derive(Default)]
struct Budget {
    unzipped: u64,
    held: u64,
}

impl Budget {
    fn unzipped_left(&self) -> u64 {
        UNZIPPED_LIMIT.saturating_sub(self.unzipped)
    }

    fn count(&mut self, bytes: u64, held: bool) -> Result<(), Refusal> {
        self.unzipped += bytes;
        if held {
            self.held += bytes;
        }
        if self.unzipped > UNZIPPED_LIMIT {
            return Err(Refusal::UnzipsPast(UNZIPPED_LIMIT >> 20));
        }
        if self.held > HELD_LIMIT {
            return Err(Refusal::HoldsPast(HELD_LIMIT >> 20));
        }
        Ok(())
    }
}

impl PlanFile {
    /// Reads a plan file (the caller opened a regular file, bounded by [`FILE_LIMIT`]).
    pub fn read(file: impl Read + Seek) -> Result<PlanFile, Refusal> {
        let not_a_plan = |e: zip::result::ZipError| Refusal::NotAPlanFile(e.to_string());
        let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(not_a_plan)?;
        let mut plan = PlanFile::default();
        let mut budget = Budget::default();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(not_a_plan)?;
            let name = entry.name().map_err(not_a_plan)?.into_owned();
            if entry.is_dir() || name == "tfstate-prev" {
                // The previous run's state decides nothing here: it is not unzipped.
                continue;
            }
            if name == "tfstate" {
                plan.prior_state = read_state_meta(&mut entry, &mut budget)?;
                continue;
            }
            let bytes = read_held(&mut entry, &name, &mut budget)?;
            plan.keep(&name, bytes)?;
        }
        if plan.tfplan.is_empty() {
            return Err(Refusal::NoPlan);
        }
        Ok(plan)
    }

    /// Files one held entry where it belongs; an entry a plan of the bundled module never
    /// holds is refused.
    fn keep(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), Refusal> {
        match name {
            "tfplan" if bytes.len() as u64 > TFPLAN_LIMIT => {
                return Err(Refusal::PlanPast(TFPLAN_LIMIT >> 20))
            }
            "tfplan" => self.tfplan = bytes,
            ".terraform.lock.hcl" => self.lock = Some(bytes),
            "tfconfig/modules.json" => {
                let modules: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|_| Refusal::ModulesNotJson)?;
                // `[{"Key": "", "Dir": "."}]`: the root module alone.
                let only_root = modules
                    .as_array()
                    .is_some_and(|m| m.iter().all(|m| m["Key"] == "" && m["Dir"] == "."));
                if !only_root {
                    return Err(Refusal::CallsModules);
                }
            }
            other => match other.strip_prefix("tfconfig/m-/") {
                Some(file) => {
                    self.config.insert(file.to_owned(), bytes);
                }
                None => return Err(Refusal::ForeignEntry(crate::problem::excerpt(other))),
            },
        }
        Ok(())
    }
}

/// One entry kept in memory, within both limits.
fn read_held(entry: &mut impl Read, name: &str, budget: &mut Budget) -> Result<Vec<u8>, Refusal> {
    let cap = budget
        .unzipped_left()
        .min(HELD_LIMIT.saturating_sub(budget.held));
    let mut bytes = Vec::new();
    entry
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Refusal::Entry {
            name: crate::problem::excerpt(name),
            reason: e.to_string(),
        })?;
    budget.count(bytes.len() as u64, true)?;
    Ok(bytes)
}

/// The prior state's lineage and serial, parsed as the entry streams: nothing else of it is
/// kept.
fn read_state_meta(entry: &mut impl Read, budget: &mut Budget) -> Result<StateMeta, Refusal> {
    let mut counted = CountingReader {
        inner: entry.take(budget.unzipped_left() + 1),
        count: 0,
    };
    let parsed: Result<StateMeta, _> = serde_json::from_reader(BufReader::new(&mut counted));
    budget.count(counted.count, false)?;
    parsed.map_err(|_| Refusal::NotAState)
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count += read as u64;
        Ok(read)
    }
}

/// One field of a protocol buffer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The fields of a protocol buffer message, `(number, value)`, varints and length-delimited
/// ones (fixed-width fields are skipped). `None` when the bytes are not a message.
pub fn protobuf_fields(mut bytes: &[u8]) -> Option<Vec<(u32, Field<'_>)>> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        if fields.len() >= MAX_FIELDS {
            return None;
        }
        let key = varint(&mut bytes)?;
        let number = u32::try_from(key >> 3).ok()?;
        match key & 7 {
            0 => fields.push((number, Field::Varint(varint(&mut bytes)?))),
            1 => bytes = bytes.get(8..)?,
            5 => bytes = bytes.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (value, rest) = (bytes.get(..len)?, bytes.get(len..)?);
                fields.push((number, Field::Bytes(value)));
                bytes = rest;
            }
            _ => return None,
        }
    }
    Some(fields)
}

/// The length-delimited fields numbered `number`.
pub fn bytes_fields<'a>(fields: &[(u32, Field<'a>)], number: u32) -> Vec<&'a [u8]> {
    fields
        .iter()
        .filter_map(|(n, value)| match value {
            Field::Bytes(bytes) if *n == number => Some(*bytes),
            _ => None,
        })
        .collect()
}

/// The varint field numbered `number` (protocol buffers leave a zero out).
pub fn varint_field(fields: &[(u32, Field<'_>)], number: u32) -> u64 {
    fields
        .iter()
        .rev()
        .find_map(|(n, value)| match value {
            Field::Varint(v) if *n == number => Some(*v),
            _ => None,
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive(entries: &[(&str, &[u8])], zeros: &[(&str, u64)]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        let block = vec![0u8; 1 << 20];
        for (name, size) in zeros {
            zip.start_file(*name, options).unwrap();
            for _ in 0..(size >> 20) {
                zip.write_all(&block).unwrap();
            }
        }
        file.write_all(&zip.finish().unwrap().into_inner()).unwrap();
        file
    }

    #[test]
    fn a_plan_files_record_configuration_and_prior_state_are_read() {
        let file = archive(
            &[
                ("tfplan", b"\x08\x03"),
                ("tfconfig/m-/main.tf", b"locals {}\n"),
                ("tfconfig/modules.json", br#"[{"Key":"","Dir":"."}]"#),
                (
                    "tfstate",
                    br#"{"version":4,"lineage":"abc","serial":7,"resources":[]}"#,
                ),
                ("tfstate-prev", b"not even JSON: never read"),
            ],
            &[],
        );
        let plan = PlanFile::read(file.reopen().unwrap()).unwrap();
        assert_eq!(plan.tfplan, b"\x08\x03");
        assert_eq!(plan.config["main.tf"], b"locals {}\n");
        assert_eq!(
            plan.prior_state,
            StateMeta {
                lineage: "abc".into(),
                serial: 7
            }
        );
    }

    #[test]
    fn entries_that_unzip_past_the_limits_are_refused() {
        let held = archive(
            &[("tfplan", b"\x08\x03")],
            &[("tfconfig/m-/a.tf", HELD_LIMIT + (1 << 20))],
        );
        let error = PlanFile::read(held.reopen().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("unzip to more than 64 MiB"), "{error}");
        let bomb = archive(&[("tfplan", b"\x08\x03")], &[("tfstate", 8 << 20)]);
        let error = PlanFile::read(bomb.reopen().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a terraform state"), "{error}");
        let foreign = archive(&[("tfplan", b"\x08\x03"), ("evil.sh", b"")], &[]);
        assert!(PlanFile::read(foreign.reopen().unwrap())
            .unwrap_err()
            .to_string()
            .contains("holds `evil.sh`"));
    }

    #[test]
    fn protocol_buffer_varints_and_bytes_are_both_read() {
        // 1: varint 3, 5: "a", 5: "b", 17: varint 1
        let message = [
            0x08, 0x03, 0x2a, 0x01, b'a', 0x2a, 0x01, b'b', 0x88, 0x01, 0x01,
        ];
        let fields = protobuf_fields(&message).unwrap();
        assert_eq!(varint_field(&fields, 1), 3);
        assert_eq!(varint_field(&fields, 17), 1);
        assert_eq!(varint_field(&fields, 20), 0);
        assert_eq!(bytes_fields(&fields, 5), [b"a", b"b"]);
        assert!(protobuf_fields(&[0x0b]).is_none());
    }
}
