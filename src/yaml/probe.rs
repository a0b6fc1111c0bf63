//! A lenient look at one top-level key, for files that may not be ours: a Kubernetes
//! service's config with a Latin-1 comment, a byte-order mark or a duplicate key deep inside
//! still says `deploymentType: kubernetes`. Used only to *leave a file alone*, never to read
//! a Lambda config.

use saphyr_parser::{Event, Parser};

use super::load::{MAX_BYTES, MAX_DEPTH};

/// The text of the plain or quoted scalar at the top-level `key` of the first document, when
/// the file gets that far. Invalid UTF-8 is replaced, a byte-order mark skipped.
pub fn top_level_scalar(bytes: &[u8], key: &str) -> Option<String> {
    if bytes.len() > MAX_BYTES {
        return None;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let mut depth = 0usize;
    // At depth 1 of a root mapping, events alternate key, value.
    let mut root_is_mapping = false;
    let mut expecting_key = true;
    let mut wanted_next = false;
    for event in Parser::new_from_str(&text) {
        let (event, _) = event.ok()?;
        let at_top = depth == 1 && root_is_mapping;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if depth == 0 {
                    root_is_mapping = matches!(event, Event::MappingStart(..));
                } else if at_top {
                    if wanted_next {
                        return None;
                    }
                    expecting_key = !expecting_key;
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return None;
                }
            }
            Event::Scalar(value, ..) if at_top => {
                if wanted_next {
                    return Some(value.into_owned());
                }
                wanted_next = expecting_key && value == key;
                expecting_key = !expecting_key;
            }
            Event::Alias(_) if at_top => {
                if wanted_next {
                    return None;
                }
                expecting_key = !expecting_key;
            }
            Event::DocumentEnd | Event::StreamEnd => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_key_in_files_the_strict_parser_refuses() {
        let latin1 = b"# caf\xE9\nserviceName: api\ndeploymentType: kubernetes\n";
        assert_eq!(
            top_level_scalar(latin1, "deploymentType").as_deref(),
            Some("kubernetes")
        );
        let bom = b"\xEF\xBB\xBFdeploymentType: 'kubernetes'\n";
        assert_eq!(
            top_level_scalar(bom, "deploymentType").as_deref(),
            Some("kubernetes")
        );
        let duplicate = b"image: {tag: a}\nimage: {tag: b}\ndeploymentType: helm\n";
        assert_eq!(
            top_level_scalar(duplicate, "deploymentType").as_deref(),
            Some("helm")
        );
    }

    #[test]
    fn only_the_top_level_counts() {
        let nested = b"a:\n  deploymentType: kubernetes\nb: {deploymentType: x}\n";
        assert_eq!(top_level_scalar(nested, "deploymentType"), None);
        let value_not_key = b"deploymentType2: deploymentType\nx: [deploymentType, y]\n";
        assert_eq!(top_level_scalar(value_not_key, "deploymentType"), None);
        assert_eq!(
            top_level_scalar(b"deploymentType: [x]\n", "deploymentType"),
            None
        );
        assert_eq!(top_level_scalar(b"a: [unclosed\n", "deploymentType"), None);
    }
}
