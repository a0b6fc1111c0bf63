//! A lenient look at a file's top level, for files that may not be ours: a Kubernetes
//! service's config with a Latin-1 comment, a byte-order mark or a duplicate key deep inside
//! still says `deploymentType: kubernetes` (or nothing at all). Used only to *leave a file
//! alone* or to notice a Lambda-looking file off the layout, never to read a Lambda config.

use std::ops::ControlFlow;

use saphyr_parser::{Event, Parser};

use super::load::{MAX_BYTES, MAX_DEPTH};

/// What a file's top level says about it, read leniently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    /// The top-level `deploymentType`, when it is a scalar (`Some("")` when it is not).
    pub deployment_type: Option<String>,
    /// Whether there is a top-level `lambda` key.
    pub lambda_key: bool,
}

impl Look {
    /// It says `deploymentType: lambda` or has a `lambda:` key.
    pub fn is_lambda(&self) -> bool {
        self.lambda_key || self.deployment_type.as_deref() == Some("lambda")
    }

    /// It declares a `deploymentType` other than `lambda`.
    pub fn declares_other(&self) -> bool {
        self.deployment_type
            .as_deref()
            .is_some_and(|kind| !kind.is_empty() && kind != "lambda")
    }
}

/// The text of the plain or quoted scalar at the top-level `key` of the first document, when
/// the file gets that far. Invalid UTF-8 is replaced, a byte-order mark skipped.
pub fn top_level_scalar(bytes: &[u8], key: &str) -> Option<String> {
    let mut found = None;
    walk(bytes, |name, value| {
        if name != key {
            return ControlFlow::Continue(());
        }
        found = value.map(str::to_owned);
        ControlFlow::Break(())
    });
    found
}

/// The top level of the first document read to its end: `None` when the lenient reading
/// cannot get that far (a syntax error, nesting past [`MAX_DEPTH`], over [`MAX_BYTES`]).
/// A document whose root is not a mapping has nothing to say.
pub fn look(bytes: &[u8]) -> Option<Look> {
    let mut look = Look::default();
    let complete = walk(bytes, |name, value| {
        match name {
            "lambda" => look.lambda_key = true,
            // A duplicate key: any `lambda` wins, so a Lambda file is never left alone.
            "deploymentType" if look.deployment_type.as_deref() != Some("lambda") => {
                look.deployment_type = Some(value.unwrap_or_default().to_owned());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    complete.then_some(look)
}

/// Calls `visit` with each top-level key of the first document and its value when that is a
/// scalar, until it breaks. True when the top level was read to its end.
fn walk(bytes: &[u8], mut visit: impl FnMut(&str, Option<&str>) -> ControlFlow<()>) -> bool {
    if bytes.len() > MAX_BYTES {
        return false;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let mut walk = Walk {
        depth: 0,
        root_is_mapping: false,
        key: None,
        expecting_key: true,
    };
    for event in Parser::new_from_str(&text) {
        let Ok((event, _)) = event else { return false };
        if let Some(complete) = walk.event(event, &mut visit) {
            return complete;
        }
    }
    false
}

/// How far a [`walk`] has come.
struct Walk {
    depth: usize,
    root_is_mapping: bool,
    /// At depth 1 of a root mapping, events alternate key, value.
    key: Option<String>,
    expecting_key: bool,
}

impl Walk {
    /// Takes in one event; `Some(complete)` when the walk ends with it.
    fn event(
        &mut self,
        event: Event<'_>,
        visit: &mut impl FnMut(&str, Option<&str>) -> ControlFlow<()>,
    ) -> Option<bool> {
        let at_top = self.depth == 1 && self.root_is_mapping;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if self.depth == 0 {
                    self.root_is_mapping = matches!(event, Event::MappingStart(..));
                } else if at_top {
                    if offer(self.key.take(), None, visit).is_break() {
                        return Some(false);
                    }
                    self.expecting_key = !self.expecting_key;
                }
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Some(false);
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    return Some(true);
                }
            }
            Event::Scalar(value, ..) if at_top => {
                if self.expecting_key {
                    self.key = Some(value.into_owned());
                } else if offer(self.key.take(), Some(&value), visit).is_break() {
                    return Some(false);
                }
                self.expecting_key = !self.expecting_key;
            }
            Event::Alias(_) if at_top => {
                let key = self.key.take().filter(|_| !self.expecting_key);
                if offer(key, None, visit).is_break() {
                    return Some(false);
                }
                self.expecting_key = !self.expecting_key;
            }
            // A scalar (or empty) root: read to its end, nothing to say.
            Event::DocumentEnd | Event::StreamEnd => return Some(self.depth == 0),
            _ => {}
        }
        None
    }
}

/// `visit`s the key with its value, when there is a key.
fn offer(
    key: Option<String>,
    value: Option<&str>,
    visit: &mut impl FnMut(&str, Option<&str>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match key {
        Some(name) => visit(&name, value),
        None => ControlFlow::Continue(()),
    }
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
    fn a_look_reads_the_whole_top_level_past_a_byte_order_mark() {
        let bom = b"\xEF\xBB\xBFimage: {tag: a}\nreplicas: 2\n";
        assert_eq!(look(bom), Some(Look::default()));
        let lambda = look(b"serviceName: a\nlambda:\n  version: '1'\n").unwrap();
        assert!(lambda.is_lambda() && !lambda.declares_other());
        let other = look(b"# caf\xE9\ndeploymentType: helm\n").unwrap();
        assert!(other.declares_other() && !other.is_lambda());
        let twice = look(b"deploymentType: lambda\ndeploymentType: helm\n").unwrap();
        assert!(twice.is_lambda() && !twice.declares_other());
        let nested = look(b"deploymentType: {a: b}\n").unwrap();
        assert!(!nested.is_lambda() && !nested.declares_other());
        assert_eq!(look(b"- a\n- b\n"), Some(Look::default()));
        assert_eq!(look(b"just text\n"), Some(Look::default()));
        assert_eq!(look(b""), Some(Look::default()));
        assert_eq!(look(b"a: [unclosed\n"), None);
        assert_eq!(look(b"a: 'unclosed\n"), None);
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
