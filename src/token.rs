//! What `GetAuthorizationToken` hands back, decoded and checked. Pure code; the SDK call
//! lives in [`crate::aws`].

use crate::secret::Secret;
use base64::Engine as _;

/// A decoded registry token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Registry user name (`AWS`).
    pub username: String,
    /// Registry password.
    pub password: Secret<String>,
    /// Expiry from AWS, Unix seconds; `None` when AWS gave none.
    pub expires_at: Option<i64>,
}

/// Why a token from AWS was unusable. No variant carries token bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `authorizationData` was empty or had no token.
    #[error("the answer held no authorization token")]
    Missing,
    /// Not base64.
    #[error("the authorization token is not valid base64")]
    NotBase64,
    /// Not UTF-8 after decoding.
    #[error("the decoded authorization token is not text")]
    NotText,
    /// No `user:password` form.
    #[error("the decoded authorization token has no ':' between user and password")]
    NoColon,
    /// An empty user or password.
    #[error("the decoded authorization token has an empty user or password")]
    Empty,
}

/// Decodes `base64("user:password")`, as ECR returns it.
pub fn decode(authorization_token: &str, expires_at: Option<i64>) -> Result<Token, DecodeError> {
    let raw = authorization_token.trim();
    if raw.is_empty() {
        return Err(DecodeError::Missing);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| DecodeError::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| DecodeError::NotText)?;
    let (user, password) = text.split_once(':').ok_or(DecodeError::NoColon)?;
    if user.is_empty() || password.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(Token {
        username: user.to_string(),
        password: Secret::new(password.to_string()),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn decodes_moto_and_real_shapes() {
        let t = decode("QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu", Some(1)).unwrap();
        assert_eq!(t.username, "AWS");
        assert_eq!(t.password.expose(), "123456789012-auth-token");
        // Only the first ':' splits.
        let t = decode(&b64("AWS:a:b=c"), None).unwrap();
        assert_eq!(t.password.expose(), "a:b=c");
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode("", None), Err(DecodeError::Missing));
        assert_eq!(decode("!!!not base64", None), Err(DecodeError::NotBase64));
        assert_eq!(decode(&b64("AWSnocolon"), None), Err(DecodeError::NoColon));
        assert_eq!(decode(&b64("AWS:"), None), Err(DecodeError::Empty));
        assert_eq!(decode(&b64(":pw"), None), Err(DecodeError::Empty));
        assert_eq!(decode("/w==", None), Err(DecodeError::NotText));
    }
}
