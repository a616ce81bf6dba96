//! Files attached to work orders (issue 8): the bytes with their name, content type, size,
//! SHA-256 digest, who uploaded them and when. The store keeps what it is given and checks only
//! what a row must hold (the order exists, the size and digest describe the bytes' length and
//! shape); which types and sizes are accepted and who may attach or read are the API's rules.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::acd::millis_to_time;
use crate::{Store, StoreError};

const TABLE: &str = "work_order_attachments";

/// What is known of an attachment without its bytes (a listing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// Chosen by the caller (a uuid).
    pub id: String,
    pub order_no: String,
    /// The file name as uploaded, without directories.
    pub name: String,
    /// The MIME type the bytes are served with.
    pub content_type: String,
    /// The length of the bytes.
    pub size: u64,
    /// The SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// The user who uploaded it.
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// An attachment to store: its metadata and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    pub meta: AttachmentMeta,
    pub data: Vec<u8>,
}

const META_COLUMNS: &str =
    "id, order_no, name, content_type, size, sha256, uploaded_by, uploaded_at";

impl Store {
    /// Stores an attachment of order `row.meta.order_no`. An order that does not exist is
    /// [`StoreError::NoSuchOrder`]; an empty id, name or content type, a size that is not the
    /// length of the bytes or a digest that is not 64 lowercase hex digits is
    /// [`StoreError::Invalid`]; an id already stored is [`StoreError::Exists`]. Nothing is
    /// written then.
    pub async fn add_attachment(&self, row: &AttachmentRow) -> Result<(), StoreError> {
        let m = &row.meta;
        let invalid = |what: &str| {
            Err(StoreError::Invalid(format!(
                "attachment {:?} of work order {}: {what}",
                m.id, m.order_no
            )))
        };
        if m.id.is_empty() {
            return invalid("no id");
        }
        if m.name.is_empty() {
            return invalid("no file name");
        }
        if m.content_type.is_empty() {
            return invalid("no content type");
        }
        if m.size != row.data.len() as u64 {
            return invalid(&format!(
                "size {} but {} bytes of data",
                m.size,
                row.data.len()
            ));
        }
        if m.sha256.len() != 64
            || !m
                .sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return invalid(&format!("{:?} is not a SHA-256 in lowercase hex", m.sha256));
        }
        let size = i64::try_from(m.size).map_err(|_| {
            StoreError::Invalid(format!("attachment {}: size {} is too large", m.id, m.size))
        })?;
        // One statement: the row goes in only if the order is there, so a check and an insert
        // cannot be separated by anything (the foreign key is the second line).
        let sql = format!(
            "INSERT INTO {TABLE} ({META_COLUMNS}, data) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
             WHERE EXISTS (SELECT 1 FROM work_orders WHERE no = $2) \
             ON CONFLICT (id) DO NOTHING"
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(m.id.as_str())
            .bind(m.order_no.as_str())
            .bind(m.name.as_str())
            .bind(m.content_type.as_str())
            .bind(size)
            .bind(m.sha256.as_str())
            .bind(m.uploaded_by.as_str())
            .bind(m.uploaded_at.timestamp_millis())
            .bind(row.data.as_slice())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if written == 1 {
            return Ok(());
        }
        // Nothing written: the order is missing or the id is taken; say which.
        let order: Option<String> = sqlx::query_scalar("SELECT no FROM work_orders WHERE no = $1")
            .bind(m.order_no.as_str())
            .fetch_optional(&self.pool)
            .await?;
        if order.is_none() {
            return Err(StoreError::NoSuchOrder(m.order_no.clone()));
        }
        Err(StoreError::Exists {
            table: TABLE,
            key: m.id.clone(),
        })
    }

    /// The attachments of order `order_no` without their bytes, oldest first (by upload time,
    /// then id); empty for an order that has none or does not exist.
    pub async fn attachments_of(&self, order_no: &str) -> Result<Vec<AttachmentMeta>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS} FROM {TABLE} WHERE order_no = $1 ORDER BY uploaded_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_no)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(meta_from_row).collect()
    }

    /// Attachment `id` of order `order_no` with its bytes; None when there is no such
    /// attachment or it belongs to another order.
    pub async fn attachment(
        &self,
        order_no: &str,
        id: &str,
    ) -> Result<Option<(AttachmentMeta, Vec<u8>)>, StoreError> {
        let sql =
            format!("SELECT {META_COLUMNS}, data FROM {TABLE} WHERE id = $1 AND order_no = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(order_no)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let meta = meta_from_row(&row)?;
        let data: Vec<u8> = row.try_get("data")?;
        if data.len() as u64 != meta.size {
            return Err(StoreError::CorruptRow {
                table: TABLE,
                key: meta.id,
                reason: format!("size {} but {} bytes of data", meta.size, data.len()),
            });
        }
        Ok(Some((meta, data)))
    }
}

fn meta_from_row(row: &AnyRow) -> Result<AttachmentMeta, StoreError> {
    let id: String = row.try_get("id")?;
    let size: i64 = row.try_get("size")?;
    Ok(AttachmentMeta {
        order_no: row.try_get("order_no")?,
        name: row.try_get("name")?,
        content_type: row.try_get("content_type")?,
        size: u64::try_from(size).map_err(|_| StoreError::CorruptRow {
            table: TABLE,
            key: id.clone(),
            reason: format!("size {size} is negative"),
        })?,
        sha256: row.try_get("sha256")?,
        uploaded_by: row.try_get("uploaded_by")?,
        uploaded_at: millis_to_time(TABLE, &id, "uploaded_at", row.try_get("uploaded_at")?)?,
        id,
    })
}
