//! What a plain (unquoted) scalar means under the YAML 1.2 core schema: null, a boolean, an
//! integer, a float, or text. Quoted and block scalars are always text.

/// The meaning of a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    Null,
    Bool(bool),
    /// Decimal, `0x` hex or `0o` octal, within `i128`.
    Int(i128),
    /// An integer too large for `i128`.
    BigInt,
    Float(f64),
    Text,
}

pub fn resolve(text: &str) -> Plain {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        _ => {}
    }
    if let Some(int) = integer(text) {
        return int;
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        let sign = if text.starts_with('-') { -1.0 } else { 1.0 };
        return Plain::Float(sign * f64::INFINITY);
    }
    if is_float(unsigned) {
        if let Ok(value) = text.parse::<f64>() {
            return Plain::Float(value);
        }
    }
    Plain::Text
}

fn integer(text: &str) -> Option<Plain> {
    let (digits, radix, signed) = if let Some(hex) = text.strip_prefix("0x") {
        (hex, 16, false)
    } else if let Some(octal) = text.strip_prefix("0o") {
        (octal, 8, false)
    } else {
        (text.strip_prefix(['-', '+']).unwrap_or(text), 10, true)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let parsed = if signed {
        text.parse::<i128>()
    } else {
        i128::from_str_radix(digits, radix)
    };
    Some(parsed.map_or(Plain::BigInt, Plain::Int))
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(index) => (&text[..index], Some(&text[index + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema() {
        assert_eq!(resolve("~"), Plain::Null);
        assert_eq!(resolve(""), Plain::Null);
        assert_eq!(resolve("True"), Plain::Bool(true));
        assert_eq!(resolve("yes"), Plain::Text);
        assert_eq!(resolve("512"), Plain::Int(512));
        assert_eq!(resolve("-3"), Plain::Int(-3));
        assert_eq!(resolve("0x1F"), Plain::Int(31));
        assert_eq!(resolve("0o17"), Plain::Int(15));
        assert_eq!(
            resolve("123456789012345678901234567890123456789012"),
            Plain::BigInt
        );
        assert_eq!(resolve("1.10"), Plain::Float(1.1));
        assert_eq!(resolve(".5"), Plain::Float(0.5));
        assert_eq!(resolve("1e3"), Plain::Float(1000.0));
        assert_eq!(resolve("-.inf"), Plain::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve(".NaN"), Plain::Float(x) if x.is_nan()));
        assert_eq!(resolve("1.2.3"), Plain::Text);
        assert_eq!(resolve("."), Plain::Text);
        assert_eq!(resolve("0x"), Plain::Text);
        assert_eq!(resolve("1_000"), Plain::Text);
        assert_eq!(resolve("e3"), Plain::Text);
    }
}
