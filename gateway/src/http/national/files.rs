//! The catalogue downloads of the national interface (1301, 1302, 1305–1308) and their file
//! transfer (9102).
//!
//! A download answers a `file_qury_no` naming the catalogue kind and the version range
//! (`C1301-<after>-<upto>`: the items published after the HIS's `ver` up to the version
//! current when it asked), and 9102 returns that file as a zip of one UTF-8, TAB-separated
//! text file, rebuilt from the catalogue on each download — the range fixes its content, so
//! no file needs keeping. Columns: `med_list_codg`, name, spec, unit, begin date, end date
//! (empty: open-ended), version.

use medclear_proto::catalog::v1 as kpb;

use super::{Refusal, text};
use crate::http::AppState;

/// The catalogue kinds each download carries.
pub(super) fn kinds_of(infno: &str) -> Option<&'static [kpb::ItemKind]> {
    Some(match infno {
        "1301" => &[kpb::ItemKind::WesternDrug, kpb::ItemKind::PatentDrug],
        "1302" => &[kpb::ItemKind::Herbal],
        "1305" => &[kpb::ItemKind::Service],
        "1306" => &[kpb::ItemKind::Consumable],
        "1307" => &[kpb::ItemKind::Diagnosis],
        "1308" => &[kpb::ItemKind::Operation],
        _ => return None,
    })
}

/// A download's range, as its `file_qury_no` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileQuery {
    pub(super) infno: u16,
    pub(super) after: i64,
    pub(super) upto: i64,
}

impl FileQuery {
    pub(super) fn number(&self) -> String {
        format!("C{}-{}-{}", self.infno, self.after, self.upto)
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix('C')?.split('-');
        let infno: u16 = parts.next()?.parse().ok()?;
        let after: i64 = parts.next()?.parse().ok()?;
        let upto: i64 = parts.next()?.parse().ok()?;
        let query = Self { infno, after, upto };
        (parts.next().is_none()
            && after >= 0
            && upto >= after
            && kinds_of(&infno.to_string()).is_some())
        .then_some(query)
    }

    pub(super) fn filename(&self) -> String {
        format!("{}_{}.zip", self.infno, self.upto)
    }
}

/// The rows of a download — the items of its kinds published after `after`, up to `upto`
/// (`None`: the version current now) — and the version they go up to.
pub(super) async fn rows(
    state: &AppState,
    infno: &str,
    after: i64,
    upto: Option<i64>,
) -> Result<(Vec<String>, i64), Refusal> {
    let kinds = kinds_of(infno).ok_or_else(|| Refusal::new("unknown_file", "no such download"))?;
    let mut client = state.catalog();
    let (mut rows, mut upto, mut page_token) = (Vec::new(), upto, String::new());
    loop {
        let page = client
            .list_changes(kpb::ListChangesRequest {
                since_ver: after,
                limit: 10_000,
                fixmedins_code: String::new(),
                page_token: page_token.clone(),
            })
            .await?
            .into_inner();
        let last = *upto.get_or_insert(page.current_ver);
        for item in page.items {
            if item.ver <= last && kinds.iter().any(|k| i32::from(*k) == item.kind) {
                let field = |t: &str| t.replace(['\t', '\n', '\r'], " ");
                rows.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    field(&item.code),
                    field(&item.name),
                    field(&item.spec),
                    field(&item.unit),
                    item.begin_date,
                    item.end_date,
                    item.ver
                ));
            }
        }
        if !page.has_more || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((rows, upto.unwrap_or(after)))
}

/// Every item's name by code, and every coverage rule, read from the catalogue's change
/// feed from the start.
pub(super) async fn coverage(
    state: &AppState,
) -> Result<(std::collections::HashMap<String, String>, Vec<kpb::Coverage>), Refusal> {
    let mut client = state.catalog();
    let (mut names, mut rules, mut page_token) =
        (std::collections::HashMap::new(), Vec::new(), String::new());
    loop {
        let page = client
            .list_changes(kpb::ListChangesRequest {
                since_ver: 0,
                limit: 10_000,
                fixmedins_code: String::new(),
                page_token: page_token.clone(),
            })
            .await?
            .into_inner();
        names.extend(page.items.into_iter().map(|i| (i.code, i.name)));
        rules.extend(page.coverage);
        if !page.has_more || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok((names, rules))
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

/// `ver` as HIS clients send it: our catalogue version, or empty / 0 for everything.
pub(super) fn version_of(text_ver: &str) -> Result<i64, Refusal> {
    match text_ver.trim() {
        "" => Ok(0),
        v => v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            Refusal::new("invalid_input", format!("ver {v:?} is not a catalogue version (0, 1, …)"))
        }),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct VersionNode {
    #[serde(default, deserialize_with = "text")]
    pub(super) ver: String,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DownloadNode {
    #[serde(default, deserialize_with = "text")]
    pub(super) file_qury_no: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_query_names_its_range_and_nothing_else_parses() {
        let q = FileQuery { infno: 1301, after: 3, upto: 9 };
        assert_eq!(FileQuery::parse(&q.number()), Some(q));
        for bad in ["C1301-9-3", "C9999-0-1", "1301-0-1", "C1301-0-1-2", "C1301--1-2", ""] {
            assert_eq!(FileQuery::parse(bad), None, "{bad}");
        }
    }

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
