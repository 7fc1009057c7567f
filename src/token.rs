//! The GitHub token: held in a type that never prints itself, exposed only to build the
//! client, registered with `::add-mask::` in Actions and scrubbed from any message that
//! could reach the log.

use std::fmt;

/// A GitHub token. `Debug` and `Display` show `***`; [`Token::expose`] is the only way
/// to the value and is used by the API client alone.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token read from the environment; blank values are no token at all.
    pub fn new(value: &str) -> Option<Token> {
        let v = value.trim();
        if v.is_empty() {
            None
        } else {
            Some(Token(v.to_string()))
        }
    }

    /// The secret itself. Only for the `Authorization` header and for masking.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// A token with characters an HTTP header cannot carry would make the HTTP layer
    /// panic or, worse, echo it in an error; say so without showing it.
    pub fn is_header_safe(&self) -> bool {
        self.0.bytes().all(|b| (0x21..=0x7e).contains(&b))
    }

    /// Replaces every occurrence of the token in `text` with `***`. Applied to anything
    /// that came back from the network before it is printed, in case a proxy or a
    /// misbehaving server echoes request headers.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to search for without mangling ordinary text; such a token
            // cannot be valid anyway.
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let t = Token::new(" ghs_secretvalue123 \n").unwrap_or_else(|| panic!("token"));
        assert_eq!(format!("{t:?} {t}"), "Token(***) ***");
        assert_eq!(t.expose(), "ghs_secretvalue123");
        assert_eq!(
            t.redact("Bearer ghs_secretvalue123 echoed"),
            "Bearer *** echoed"
        );
        assert!(Token::new("  ").is_none());
    }

    #[test]
    fn header_safety() {
        assert!(Token::new("ghs_abc").is_some_and(|t| t.is_header_safe()));
        assert!(!Token::new("a b").is_some_and(|t| t.is_header_safe()));
    }
}
