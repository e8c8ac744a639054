//! Masking helpers for personal data, for use with [`RowMut::mask`].
//!
//! Each takes the original text and returns its masked form; they never
//! fail, so a malformed value is masked completely rather than passed on.
//!
//! [`RowMut::mask`]: crate::RowMut::mask

/// `ann@example.com` -> `a***@example.com`; text without `@` -> `***`.
pub fn email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map_or(0, char::len_utf8);
            let mut out = String::with_capacity(first + 4 + domain.len());
            out.push_str(&local[..first]);
            out.push_str("***@");
            out.push_str(domain);
            out
        }
        None => "***".to_owned(),
    }
}

/// Keep the last four digits, one `*` per other digit; everything that is
/// not a digit goes: `+49 (30) 1234-5678` -> `********5678`.
pub fn phone(phone: &str) -> String {
    keep_last_digits(phone, 4)
}

/// Keep the last `n` digits, one `*` per other digit (card and account
/// numbers, phone numbers).
pub fn keep_last_digits(text: &str, n: usize) -> String {
    // ASCII digits are single bytes: keep them, then star all but the last
    // `n` in place.
    let mut out: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
    let hide = out.len().saturating_sub(n);
    out[..hide].fill(b'*');
    String::from_utf8(out).expect("ASCII digits and stars")
}

/// Every character becomes `*`, keeping the length in characters.
pub fn all(text: &str) -> String {
    "*".repeat(text.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_what_they_say() {
        assert_eq!(email("ann@example.com"), "a***@example.com");
        assert_eq!(email("élodie@exemple.fr"), "é***@exemple.fr");
        assert_eq!(email("nobody"), "***");
        assert_eq!(phone("+49 (30) 1234-5678"), "********5678");
        assert_eq!(phone("12"), "12");
        assert_eq!(
            keep_last_digits("4111 1111 1111 1234", 4),
            "************1234"
        );
        assert_eq!(all("héllo"), "*****");
    }
}
