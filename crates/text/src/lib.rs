//! Text normalisation (placeholder until the real crate lands).
use std::fmt;
pub fn fold_digits(s: &str) -> String {
    s.to_string()
}
pub fn search_fold(s: &str) -> String {
    s.to_lowercase()
}
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);
impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, TextError> {
        if s.contains('@') {
            Ok(Self(s.trim().to_lowercase()))
        } else {
            Err(TextError::Email)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);
impl PhoneNumber {
    pub fn parse(s: &str, _r: &str) -> Result<Self, TextError> {
        Ok(Self(s.to_string()))
    }
    pub fn parse_lenient(s: &str, _r: &str) -> Result<Self, TextError> {
        Ok(Self(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    Email,
}
impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid")
    }
}
impl std::error::Error for TextError {}
