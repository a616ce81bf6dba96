//! The people who sign in (users with a role and, for unit staff and heads, their unit), their
//! sessions, and the audit log of who did what. Passwords and tokens never reach the store:
//! it keeps the encoded password hash and a hash of each session token, computed by the caller.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::acd::{millis_to_time, one_of};
use crate::{Store, StoreError};

const ROLES: [&str; 5] = ["agent", "supervisor", "unit_staff", "unit_head", "admin"];

/// The roles that belong to a handling unit: a user has a unit exactly when the role is one of
/// these.
const UNIT_ROLES: [&str; 2] = ["unit_staff", "unit_head"];

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    /// `agent`, `supervisor`, `unit_staff`, `unit_head` or `admin`.
    pub role: String,
    /// The handling unit of unit staff and unit heads; None for every other role.
    pub unit: Option<String>,
    /// The encoded hash (algorithm, parameters and salt included).
    pub password_hash: String,
    /// A disabled user keeps the row (the audit log names it) but may not sign in.
    pub disabled: bool,
    /// Kept from the first put: a later put does not change it.
    pub created_at: DateTime<Utc>,
}

/// One session: the hash of its bearer token, whose it is and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    /// Valid while the time is before it; the store hands out expired sessions too (it has no
    /// clock), the caller compares.
    pub expires_at: DateTime<Utc>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Given by the store; 0 in a row to write (the value is not used).
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who acted: a user id, or the name the scheduler acts under.
    pub user_id: String,
    /// What was done (`order.dispatch`, `user.disable`…), the caller's vocabulary.
    pub action: String,
    pub order_no: Option<String>,
    /// The details, free text or JSON; the store does not read it.
    pub detail: String,
}

const USER_COLUMNS: &str = "id, name, role, unit, password_hash, disabled, created_at";

impl Store {
    /// Creates user `row.id`, or replaces everything of an existing one but `created_at`. A
    /// role outside the five, a unit role without a unit or another role with one is refused
    /// and nothing is written.
    pub async fn put_user(&self, row: &UserRow) -> Result<(), StoreError> {
        if row.id.is_empty() {
            return Err(StoreError::Invalid("a user needs an id".into()));
        }
        one_of("role", &row.role, &ROLES)?;
        let needs_unit = UNIT_ROLES.contains(&row.role.as_str());
        match row.unit.as_deref() {
            None | Some("") if needs_unit => {
                return Err(StoreError::Invalid(format!(
                    "user {}: a {} belongs to a unit",
                    row.id, row.role
                )));
            }
            Some(unit) if !needs_unit => {
                return Err(StoreError::Invalid(format!(
                    "user {}: a {} belongs to no unit, not {unit}",
                    row.id, row.role
                )));
            }
            _ => {}
        }
        if row.password_hash.is_empty() {
            return Err(StoreError::Invalid(format!(
                "user {}: the password hash is empty",
                row.id
            )));
        }
        let sql = format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, \
             unit = excluded.unit, password_hash = excluded.password_hash, \
             disabled = excluded.disabled"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(row.id.as_str())
            .bind(row.name.as_str())
            .bind(row.role.as_str())
            .bind(row.unit.as_deref())
            .bind(row.password_hash.as_str())
            .bind(i32::from(row.disabled))
            .bind(row.created_at.timestamp_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every user, by id (byte order on both backends).
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Stores a new session. An unknown user (the foreign key) or a token hash already stored
    /// is a [`StoreError::Database`] error; a session that ends before it starts is refused.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if token_hash.is_empty() {
            return Err(StoreError::Invalid("a session needs a token hash".into()));
        }
        if expires_at <= created_at {
            return Err(StoreError::Invalid(format!(
                "a session of {user_id} must expire after it starts"
            )));
        }
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(created_at.timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session with this token hash, expired or not (see [`SessionRow::expires_at`]).
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT token_hash, user_id, created_at, expires_at FROM sessions \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|row| {
                let token_hash: String = row.try_get("token_hash")?;
                // The key in an error is the user, not the hash: it would let a reader of the
                // logs look the session up.
                let user_id: String = row.try_get("user_id")?;
                Ok(SessionRow {
                    created_at: millis_to_time(
                        "sessions",
                        &user_id,
                        "created_at",
                        row.try_get("created_at")?,
                    )?,
                    expires_at: millis_to_time(
                        "sessions",
                        &user_id,
                        "expires_at",
                        row.try_get("expires_at")?,
                    )?,
                    token_hash,
                    user_id,
                })
            })
            .transpose()
    }

    /// Ends a session (sign-out). False if there was none.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let rows = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(rows > 0)
    }

    /// Deletes the sessions expired at `now` (`expires_at` at or before it) and says how many.
    pub async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let rows = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.timestamp_millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(rows)
    }

    /// Appends `row` to the audit log (its `id` is ignored) and returns the id given.
    pub async fn audit(&self, row: &AuditRow) -> Result<i64, StoreError> {
        if row.action.is_empty() {
            return Err(StoreError::Invalid(format!(
                "an audit entry of {} names no action",
                row.user_id
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (at, user_id, action, order_no, detail) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(row.at.timestamp_millis())
        .bind(row.user_id.as_str())
        .bind(row.action.as_str())
        .bind(row.order_no.as_deref())
        .bind(row.detail.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// The latest audit entries, newest first (by id), at most `limit`: those about order
    /// `order_no`, or all of them.
    pub async fn audit_entries(
        &self,
        order_no: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        const COLUMNS: &str = "id, at, user_id, action, order_no, detail";
        let rows = self
            .newest_of_order("audit_log", COLUMNS, order_no, limit)
            .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                Ok(AuditRow {
                    at: millis_to_time("audit_log", &id.to_string(), "at", row.try_get("at")?)?,
                    user_id: row.try_get("user_id")?,
                    action: row.try_get("action")?,
                    order_no: row.try_get("order_no")?,
                    detail: row.try_get("detail")?,
                    id,
                })
            })
            .collect()
    }
}

fn user_from_row(row: &AnyRow) -> Result<UserRow, StoreError> {
    const TABLE: &str = "users";
    let id: String = row.try_get("id")?;
    let disabled: i32 = row.try_get("disabled")?;
    Ok(UserRow {
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        unit: row.try_get("unit")?,
        password_hash: row.try_get("password_hash")?,
        disabled: match disabled {
            0 => false,
            1 => true,
            other => {
                return Err(StoreError::CorruptRow {
                    table: TABLE,
                    key: id,
                    reason: format!("disabled {other} is neither 0 nor 1"),
                });
            }
        },
        created_at: millis_to_time(TABLE, &id, "created_at", row.try_get("created_at")?)?,
        id,
    })
}
