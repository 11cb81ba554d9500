//! One error type for every chat rule; each variant maps to the client error code of its frame.

use serde::{Deserialize, Serialize};

/// The `code` of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The connection is not (or no longer) authenticated.
    Unauthorized,
    /// Allowed for some members, not for this one (e.g. only admins add members).
    Forbidden,
    /// The caller is not a member of the room.
    NotMember,
    /// No such room or message.
    NotFound,
    /// The frame is not valid JSON, has an unknown action, or a field is missing or wrong.
    InvalidFrame,
    /// Content or frame above the limits.
    TooLarge,
    /// Too many requests; retry later.
    RateLimited,
    /// The request conflicts with the current state (e.g. a clientId used by someone else).
    Conflict,
    /// The room has reached its maximum number of members.
    RoomFull,
    /// Something failed on the server; the request may be retried.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotMember,
        ErrorCode::NotFound,
        ErrorCode::InvalidFrame,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Conflict,
        ErrorCode::RoomFull,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotMember => "not_member",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("you are not a member of room {0}")]
    NotMember(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    InvalidFrame { field: Option<String>, message: String },
    /// A well-formed reference (a file's key) to nothing there: `not_found`, naming the field.
    #[error("{message}")]
    Absent { field: String, message: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    Conflict(String),
    /// The message says which room or limit.
    #[error("{0}")]
    RoomFull(String),
    /// Details are logged, not sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ChatError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::Unauthorized(_) => ErrorCode::Unauthorized,
            ChatError::Forbidden(_) => ErrorCode::Forbidden,
            ChatError::NotMember(_) => ErrorCode::NotMember,
            ChatError::NotFound(_) | ChatError::Absent { .. } => ErrorCode::NotFound,
            ChatError::InvalidFrame { .. } => ErrorCode::InvalidFrame,
            ChatError::TooLarge(_) => ErrorCode::TooLarge,
            ChatError::RateLimited(_) => ErrorCode::RateLimited,
            ChatError::Conflict(_) => ErrorCode::Conflict,
            ChatError::RoomFull(_) => ErrorCode::RoomFull,
            ChatError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ChatError {
        ChatError::InvalidFrame { field: Some(field.to_string()), message: message.into() }
    }

    pub fn absent(field: &str, message: impl Into<String>) -> ChatError {
        ChatError::Absent { field: field.to_string(), message: message.into() }
    }

    pub fn internal(e: impl std::fmt::Display) -> ChatError {
        ChatError::Internal(e.to_string())
    }

    /// What the client is told: internal details stay in the logs.
    pub fn client_message(&self) -> String {
        match self {
            ChatError::Internal(_) => "internal error; retry later".to_string(),
            other => other.to_string(),
        }
    }

    pub fn field(&self) -> Option<String> {
        match self {
            ChatError::InvalidFrame { field, .. } => field.clone(),
            ChatError::Absent { field, .. } => Some(field.clone()),
            _ => None,
        }
    }
}

pub type Result<T, E = ChatError> = std::result::Result<T, E>;
