//! 9101 (a file uploaded: a detail file for reconciliation, 3202) and 9102 (a file
//! downloaded: a catalogue download's or a reconciliation's result), and the zip archives
//! files travel in.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use medclear_common::{clock::CHINA, codes};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalogue;
use super::envelope::{Envelope, Outcome, Refusal, node, output};
use crate::{json::text, state::AppState};

/// 9102: the file a download (130x) or a reconciliation (3202) named, as a zip (the body is
/// the file, not an envelope).
pub(super) async fn download_file(
    state: &AppState,
    envelope: &Envelope,
) -> Result<Response, Refusal> {
    let d: DownloadNode = node(envelope, "fsDownloadIn")?;
    let number = codes::id("fsDownloadIn.file_qury_no", &d.file_qury_no)?;
    let (zip, filename) = if number.starts_with('F') {
        let request = medclear_proto::clearing::v1::GetFileRequest {
            fixmedins_code: envelope.fixmedins_code.clone(),
            file_qury_no: number.to_owned(),
        };
        let file = state.clearing().get_file(request).await?.into_inner();
        (file.content, file.filename)
    } else {
        let query = catalogue::FileQuery::parse(number).ok_or_else(|| {
            Refusal::new("unknown_file", format!("no file {} to download", codes::shown(number)))
        })?;
        let infno = query.infno.to_string();
        let (rows, _) = catalogue::rows(state, &infno, query.after, Some(query.upto)).await?;
        let mut text = rows.join("\n");
        text.push('\n');
        (zip_one(&format!("{infno}.txt"), text.as_bytes())?, query.filename())
    };
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, "application/zip".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        zip,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DownloadNode {
    #[serde(default, deserialize_with = "text")]
    file_qury_no: String,
}

#[derive(Debug, Default, Deserialize)]
struct UploadNode {
    /// The file: a list of byte values, or base64 text (clients send both).
    #[serde(default, rename = "in")]
    content: Value,
    #[serde(default, deserialize_with = "text")]
    filename: String,
}

#[derive(Debug, Serialize)]
pub(super) struct FileInfo {
    file_qury_no: String,
    filename: String,
    dld_endtime: String,
}

fn file_bytes(content: &Value) -> Result<Vec<u8>, Refusal> {
    let bad = || Refusal::new("invalid_file", "fsUploadIn.in is a list of bytes or base64 text");
    match content {
        Value::Array(values) => values
            .iter()
            .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or_else(bad))
            .collect(),
        Value::String(text) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[derive(Debug, Serialize)]
pub(super) struct FileInfoOutput {
    pub(super) fileinfo: FileInfo,
}

pub(super) fn file_info(file: medclear_proto::clearing::v1::FileRef) -> FileInfo {
    let until = Utc::now().with_timezone(&CHINA) + chrono::Duration::days(1);
    FileInfo {
        file_qury_no: file.file_qury_no,
        filename: file.filename,
        dld_endtime: until.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// 9101: a file for reconciliation (3202), kept for this institution.
pub(super) async fn upload_file(state: &AppState, envelope: &Envelope) -> Outcome {
    let u: UploadNode = node(envelope, "fsUploadIn")?;
    let content = file_bytes(&u.content)?;
    let request = medclear_proto::clearing::v1::PutFileRequest {
        fixmedins_code: envelope.fixmedins_code.clone(),
        filename: codes::text("fsUploadIn.filename", &u.filename, 200)?.to_owned(),
        kind: "upload".into(),
        content,
        msgid: envelope.msgid.clone(),
    };
    output(&file_info(state.clearing().put_file(request).await?.into_inner()))
}

/// A zip archive of one stored (uncompressed) file, as HIS clients unzip it.
pub fn zip_one(name: &str, contents: &[u8]) -> Result<Vec<u8>, Refusal> {
    let too_large = || Refusal::new("file_too_large", "the file is larger than a zip of 4 GiB");
    let size = u32::try_from(contents.len()).map_err(|_| too_large())?;
    let name_len = u16::try_from(name.len()).map_err(|_| too_large())?;
    let crc = crc32fast::hash(contents);
    // 1980-01-01 00:00 in MS-DOS time: the date is not the content.
    let (time, date) = (0u16, (1u16 << 5) | 1);
    let mut out = Vec::with_capacity(contents.len() + 2 * name.len() + 100);
    let header = |out: &mut Vec<u8>, central: bool| {
        if central {
            out.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes()); // version made by
        } else {
            out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        }
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 name
        out.extend_from_slice(&0u16.to_le_bytes()); // stored
        out.extend_from_slice(&time.to_le_bytes());
        out.extend_from_slice(&date.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
    };
    header(&mut out, false);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(contents);
    let central_at = u32::try_from(out.len()).map_err(|_| too_large())?;
    header(&mut out, true);
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out.extend_from_slice(&0u16.to_le_bytes()); // disk
    out.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    out.extend_from_slice(&0u32.to_le_bytes()); // local header at 0
    out.extend_from_slice(name.as_bytes());
    let central_size = u32::try_from(out.len()).map_err(|_| too_large())? - central_at;
    out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *bytes.get(at)?,
        *bytes.get(at + 1)?,
        *bytes.get(at + 2)?,
        *bytes.get(at + 3)?,
    ]))
}

/// The first file of a zip archive (stored or deflated), its CRC checked.
pub fn unzip_first(zip: &[u8]) -> Result<Vec<u8>, Refusal> {
    let bad =
        |why: &str| Refusal::new("invalid_file", format!("the file is not a usable zip: {why}"));
    // The end-of-central-directory record, searched from the end (a comment may follow it).
    let eocd = (0..zip.len().saturating_sub(21))
        .rev()
        .take(65_557)
        .find(|&i| u32_at(zip, i) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end of central directory"))?;
    let central = usize::try_from(u32_at(zip, eocd + 16).ok_or_else(|| bad("short"))?)
        .map_err(|_| bad("offset"))?;
    if u32_at(zip, central) != Some(0x0201_4b50) {
        return Err(bad("no central directory entry"));
    }
    let field = |at: usize| u32_at(zip, central + at).ok_or_else(|| bad("short entry"));
    let method = u16_at(zip, central + 10).ok_or_else(|| bad("short entry"))?;
    let crc = field(16)?;
    let compressed = usize::try_from(field(20)?).map_err(|_| bad("size"))?;
    let size = usize::try_from(field(24)?).map_err(|_| bad("size"))?;
    let local = usize::try_from(field(42)?).map_err(|_| bad("offset"))?;
    if u32_at(zip, local) != Some(0x0403_4b50) {
        return Err(bad("no local header"));
    }
    let name_len = usize::from(u16_at(zip, local + 26).ok_or_else(|| bad("short header"))?);
    let extra_len = usize::from(u16_at(zip, local + 28).ok_or_else(|| bad("short header"))?);
    let start = local + 30 + name_len + extra_len;
    let data = zip.get(start..start + compressed).ok_or_else(|| bad("truncated"))?;
    if size > 2 * 1024 * 1024 * 16 {
        return Err(bad("the file inside is too large"));
    }
    let contents = match method {
        0 => data.to_vec(),
        8 => {
            use std::io::Read as _;
            let mut out = Vec::with_capacity(size);
            flate2::read::DeflateDecoder::new(data)
                .take(u64::try_from(size).unwrap_or(0) + 1)
                .read_to_end(&mut out)
                .map_err(|e| bad(&e.to_string()))?;
            out
        }
        other => return Err(bad(&format!("compression method {other} (stored or deflate only)"))),
    };
    if contents.len() != size || crc32fast::hash(&contents) != crc {
        return Err(bad("its size or CRC does not match"));
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_zipped_unzips_and_what_is_damaged_does_not() {
        let text = "S1\tV1\tP1\t12.30\t10.00\t0.00\t0\n".repeat(50);
        let zip = zip_one("3202.txt", text.as_bytes()).unwrap();
        assert_eq!(unzip_first(&zip).unwrap(), text.as_bytes());
        // A deflated entry, as zip tools write them: the same archive, compressed.
        let mut deflated = Vec::new();
        {
            use std::io::Write as _;
            let mut encoder =
                flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default());
            encoder.write_all(text.as_bytes()).unwrap();
            encoder.finish().unwrap();
        }
        let mut zipped = zip.clone();
        let name = 8; // "3202.txt"
        let stored_len = text.len();
        zipped.splice(30 + name..30 + name + stored_len, deflated.iter().copied());
        let shift = |v: usize| u32::try_from(v).unwrap().to_le_bytes();
        zipped[8..10].copy_from_slice(&8u16.to_le_bytes());
        zipped[18..22].copy_from_slice(&shift(deflated.len()));
        let central = 30 + name + deflated.len();
        zipped[central + 10..central + 12].copy_from_slice(&8u16.to_le_bytes());
        zipped[central + 20..central + 24].copy_from_slice(&shift(deflated.len()));
        let eocd = zipped.len() - 22;
        zipped[eocd + 16..eocd + 20].copy_from_slice(&shift(central));
        assert_eq!(unzip_first(&zipped).unwrap(), text.as_bytes());
        let mut damaged = zip.clone();
        damaged[40] ^= 0xFF;
        assert_eq!(unzip_first(&damaged).unwrap_err().reason, "invalid_file");
        assert_eq!(unzip_first(b"not a zip").unwrap_err().reason, "invalid_file");
    }

    #[test]
    fn a_stored_zip_holds_the_file_as_it_is() {
        let zip = zip_one("1301.txt", "X1\t阿莫西林\n".as_bytes()).unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        let size = u32::from_le_bytes([zip[18], zip[19], zip[20], zip[21]]);
        let name_len = usize::from(u16::from_le_bytes([zip[26], zip[27]]));
        assert_eq!(&zip[30..30 + name_len], b"1301.txt");
        let body = &zip[30 + name_len..30 + name_len + usize::try_from(size).unwrap()];
        assert_eq!(body, "X1\t阿莫西林\n".as_bytes());
        let crc = u32::from_le_bytes([zip[14], zip[15], zip[16], zip[17]]);
        assert_eq!(crc, crc32fast::hash(body));
        assert_eq!(&zip[zip.len() - 22..zip.len() - 18], b"PK\x05\x06");
    }
}
