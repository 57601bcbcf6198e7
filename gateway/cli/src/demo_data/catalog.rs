//! Deterministic, format-valid SYNTHETIC national catalogue for demos and tests.
//!
//! [`generate`] builds a national catalogue of realistic size (drugs, service items,
//! consumables, diagnoses and operations), the national coverage rule of every chargeable
//! item plus a few per-province overrides for all 32 provincial regions, and code mappings
//! for a set of demo hospitals and demo pharmacies (定点药店, which map drugs only). Every row
//! is a map from the documented CSV column name to its text value, so the rows go through the
//! same import path as real files.
//!
//! The generated rows are not real data: codes, names and prices come from a small seeded PRNG
//! (`SplitMix64`). The same seed and scale always give the same catalogue. A handful of real
//! disease-payment (按病种付费, 1310) and day-surgery (日间手术, 1311) entries are added as they
//! are ([`DISEASE_LISTS`]): common diseases keyed by their main diagnosis, with their operation.

use std::collections::BTreeMap;

use medclear_proto::{catalog::v1::ItemKind, names};

/// One CSV-like row: column name -> value.
pub type Row = BTreeMap<&'static str, String>;

/// How big a catalogue to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Realistic national size (about 90,000 items).
    Full,
    /// Roughly 1/100 of [`Scale::Full`] (at least 20 items of each kind), same shape.
    Small,
}

/// A demo hospital (定点医疗机构) whose local codes are mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoHospital {
    /// `H` + the province's admdvs + a 5-digit sequence, e.g. `H11000000001`.
    pub fixmedins_code: String,
    /// The province's admdvs code.
    pub admdvs: String,
    /// `tertiary`, `secondary` or `primary`.
    pub level: &'static str,
    /// Display name.
    pub name: String,
}

/// The generated catalogue: rows in the CSV columns of each file kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCatalog {
    /// Catalogue items (`code, kind, name, spec, unit, begin_date, end_date`).
    pub items: Vec<Row>,
    /// Coverage rules, national (`000000`) and per-province overrides.
    pub coverage: Vec<Row>,
    /// Hospital local code → national code mappings.
    pub mappings: Vec<Row>,
    /// The demo hospitals the mappings belong to.
    pub hospitals: Vec<DemoHospital>,
    /// The demo pharmacies (`P` codes, level `ungraded`), which map drugs only.
    pub pharmacies: Vec<DemoHospital>,
}

/// The 32 provincial-level admdvs codes.
pub const PROVINCES: [&str; 32] = [
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000", "660000",
];

const NATIONAL_SCOPE: &str = "000000";
const BASE_DATE: &str = "2024-01-01";
const HOSPITALS_PER_PROVINCE: usize = 3;
const PHARMACIES_PER_PROVINCE: usize = 2;

/// Real disease-payment (按病种付费) and day-surgery (日间手术) entries: kind, code (the main
/// diagnosis, ICD-10 医保版), name, and the operation (ICD-9-CM-3 医保版) a day surgery is or a
/// disease payment is limited to.
pub const DISEASE_LISTS: [(ItemKind, &str, &str, &str, &str); 10] = [
    (ItemKind::DiseasePayment, "K80.100", "胆囊结石伴慢性胆囊炎", "51.2300", "腹腔镜下胆囊切除术"),
    (ItemKind::DiseasePayment, "K35.800", "急性阑尾炎", "47.0100", "腹腔镜下阑尾切除术"),
    (ItemKind::DiseasePayment, "K40.900", "单侧腹股沟疝", "53.0000", "单侧腹股沟疝修补术"),
    (ItemKind::DiseasePayment, "N20.000", "肾结石", "55.0400", "经皮肾镜碎石取石术"),
    (ItemKind::DiseasePayment, "D25.900", "子宫平滑肌瘤", "", ""),
    (ItemKind::DaySurgery, "H25.900", "老年性白内障", "13.4100", "白内障超声乳化抽吸术"),
    (ItemKind::DaySurgery, "N40.x00", "前列腺增生", "60.2900", "经尿道前列腺切除术"),
    (ItemKind::DaySurgery, "D24.x00", "乳腺良性肿瘤", "85.2100", "乳腺病损局部切除术"),
    (ItemKind::DaySurgery, "I83.900", "下肢静脉曲张", "38.5900", "下肢静脉高位结扎和剥脱术"),
    (ItemKind::DaySurgery, "K64.900", "痔", "49.4600", "痔切除术"),
];
const LEVELS: [&str; 3] = ["tertiary", "secondary", "primary"];

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------

/// `SplitMix64`.
#[derive(Debug)]
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Self { state: seed ^ 0x6D65_6463_6C65_6172 }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (0 when `n == 0`).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    fn below_usize(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        usize::try_from(self.below(n64)).unwrap_or(0)
    }

    /// Inclusive range.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo.saturating_add(self.below(hi.saturating_sub(lo).saturating_add(1)))
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy + Default>(&mut self, list: &[T]) -> T {
        let i = self.below_usize(list.len());
        list.get(i).copied().unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Kinds and sizes
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Western,
    Patent,
    Herbal,
    Service,
    Consumable,
    Diagnosis,
    Operation,
}

const KINDS: [Kind; 7] = [
    Kind::Western,
    Kind::Patent,
    Kind::Herbal,
    Kind::Service,
    Kind::Consumable,
    Kind::Diagnosis,
    Kind::Operation,
];

impl Kind {
    /// Its word in the catalogue files: the national item kind's.
    fn label(self) -> &'static str {
        let kind = match self {
            Self::Western => ItemKind::WesternDrug,
            Self::Patent => ItemKind::PatentDrug,
            Self::Herbal => ItemKind::Herbal,
            Self::Service => ItemKind::Service,
            Self::Consumable => ItemKind::Consumable,
            Self::Diagnosis => ItemKind::Diagnosis,
            Self::Operation => ItemKind::Operation,
        };
        names::name(kind)
    }

    fn is_chargeable(self) -> bool {
        !matches!(self, Self::Diagnosis | Self::Operation)
    }

    fn is_drug(self) -> bool {
        matches!(self, Self::Western | Self::Patent | Self::Herbal)
    }

    /// About 10% above the documented minimums.
    fn full_count(self) -> usize {
        match self {
            Self::Western => 19_800,
            Self::Patent => 9_900,
            Self::Herbal => 3_300,
            Self::Service => 11_000,
            Self::Consumable | Self::Diagnosis => 22_000,
            Self::Operation => 2_000,
        }
    }

    fn count(self, scale: Scale) -> usize {
        match scale {
            Scale::Full => self.full_count(),
            Scale::Small => (self.full_count() / 100).max(20),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const LOWER36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const ATC_GROUPS: &[u8] = b"ABCDGHJLMNPRSV";

fn push_chars(out: &mut String, rng: &mut Rng, alphabet: &[u8], n: usize) {
    for _ in 0..n {
        let i = rng.below_usize(alphabet.len());
        if let Some(&b) = alphabet.get(i) {
            out.push(char::from(b));
        }
    }
}

/// Pushes the last `width` decimal digits of `value`, zero-padded.
fn push_padded(out: &mut String, value: usize, width: u32) {
    let value = u64::try_from(value).unwrap_or(0);
    let mut div = 10_u64.saturating_pow(width.saturating_sub(1));
    while div > 0 {
        out.push(char_at(DIGITS, usize::try_from(value / div % 10).unwrap_or(0)));
        div /= 10;
    }
}

fn char_at(alphabet: &[u8], i: usize) -> char {
    alphabet.get(i % alphabet.len().max(1)).map_or('0', |&b| char::from(b))
}

/// A code of `kind`; `idx` (the item's number within its kind) is embedded so that codes
/// are unique by construction, the rest is random.
fn make_code(kind: Kind, rng: &mut Rng, idx: usize) -> String {
    let mut s = String::with_capacity(24);
    match kind {
        Kind::Western => {
            // X + ATC-like group (5) + dosage form (4) + sequence (6) + pack/maker (7) = 23.
            s.push('X');
            push_chars(&mut s, rng, ATC_GROUPS, 1);
            push_chars(&mut s, rng, DIGITS, 2);
            push_chars(&mut s, rng, UPPER, 3);
            push_chars(&mut s, rng, DIGITS, 3);
            push_padded(&mut s, idx, 6);
            push_chars(&mut s, rng, DIGITS, 7);
        }
        Kind::Patent => {
            // Z + class (6) + form (3) + sequence (6) + pack/maker (7) = 23.
            s.push('Z');
            push_chars(&mut s, rng, UPPER, 2);
            push_chars(&mut s, rng, DIGITS, 2);
            push_chars(&mut s, rng, UPPER, 2);
            push_chars(&mut s, rng, DIGITS, 3);
            push_padded(&mut s, idx, 6);
            push_chars(&mut s, rng, DIGITS, 7);
        }
        Kind::Herbal => {
            // T + 3 + sequence (6) = 10.
            s.push('T');
            push_chars(&mut s, rng, DIGITS, 3);
            push_padded(&mut s, idx, 6);
        }
        Kind::Service => {
            // 00 + chapter (2) + sequence (6) + 5 = 15 digits.
            let chapter = rng.range(1, 34);
            s.push_str("00");
            push_padded(&mut s, usize::try_from(chapter).unwrap_or(0), 2);
            push_padded(&mut s, idx, 6);
            push_chars(&mut s, rng, DIGITS, 5);
        }
        Kind::Consumable => {
            // C + class (4) + sequence (7) + 8 = 20.
            let (major, minor) = (rng.range(1, 18), rng.range(1, 20));
            s.push('C');
            push_padded(&mut s, usize::try_from(major).unwrap_or(0), 2);
            push_padded(&mut s, usize::try_from(minor).unwrap_or(0), 2);
            push_padded(&mut s, idx, 7);
            push_chars(&mut s, rng, DIGITS, 8);
        }
        Kind::Diagnosis => {
            // Category (letter + 2 digits) and first sub-code char come from idx.
            let category = idx % 2_600;
            s.push(char_at(UPPER, category / 100));
            push_padded(&mut s, category, 2);
            s.push('.');
            s.push(char_at(LOWER36, idx / 2_600));
            push_chars(&mut s, rng, LOWER36, 2);
            if rng.chance(400) {
                s.push('x');
                push_chars(&mut s, rng, DIGITS, 3);
            }
        }
        Kind::Operation => {
            // "cc.ss" comes from idx, then 0–2 more digits and maybe an extension.
            push_padded(&mut s, idx, 2);
            s.push('.');
            push_padded(&mut s, idx / 100, 2);
            let extra = rng.below_usize(3);
            push_chars(&mut s, rng, DIGITS, extra);
            if rng.chance(350) {
                s.push('x');
                push_chars(&mut s, rng, DIGITS, 3);
            }
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

const WESTERN_SYLLABLES: &[&str] = &[
    "阿", "莫", "西", "林", "头", "孢", "克", "洛", "沙", "坦", "普", "利", "美", "托", "地", "尔",
    "奥", "硝", "苯", "氨", "磺", "氯", "吡", "格", "雷", "他", "汀", "瑞", "舒", "巴", "布", "芬",
    "卡", "维", "缬", "厄", "贝", "唑", "拉", "米",
];
const WESTERN_FORMS: &[(&str, &str)] = &[
    ("片", "盒"),
    ("胶囊", "盒"),
    ("注射液", "支"),
    ("颗粒", "袋"),
    ("缓释片", "盒"),
    ("肠溶片", "盒"),
    ("口服溶液", "瓶"),
    ("注射用粉针", "瓶"),
    ("分散片", "盒"),
    ("滴眼液", "支"),
];
const STRENGTHS: &[&str] =
    &["0.25g", "0.5g", "10mg", "20mg", "5mg", "100mg", "1g", "2ml:10mg", "250mg", "40mg", "0.1g"];
const PACKS: &[&str] = &["*12", "*24", "*28", "*36", "*48", "*1", "*6", "*10"];

const PATENT_SYLLABLES: &[&str] = &[
    "银", "黄", "连", "翘", "板", "蓝", "根", "丹", "参", "六", "味", "地", "复", "方", "清", "热",
    "解", "毒", "通", "络", "活", "血", "化", "瘀", "安", "神", "补", "益", "气", "宁", "心", "止",
    "咳", "舒", "肝",
];
const PATENT_FORMS: &[(&str, &str)] = &[
    ("丸", "盒"),
    ("颗粒", "袋"),
    ("胶囊", "盒"),
    ("口服液", "支"),
    ("片", "盒"),
    ("滴丸", "瓶"),
    ("软胶囊", "盒"),
    ("糖浆", "瓶"),
];
const PATENT_SPECS: &[&str] =
    &["6g*10袋", "0.3g*36粒", "10ml*6支", "0.25g*48片", "9g*10丸", "100ml"];

const HERBS: &[&str] = &[
    "黄芪",
    "当归",
    "党参",
    "白术",
    "茯苓",
    "甘草",
    "川芎",
    "白芍",
    "熟地黄",
    "枸杞子",
    "金银花",
    "连翘",
    "柴胡",
    "黄芩",
    "丹参",
    "陈皮",
    "半夏",
    "桂枝",
    "麦冬",
    "山药",
];
const HERB_PROCESSING: &[&str] = &["", "炒", "炙", "酒", "生", "蜜炙", "醋"];
const HERB_SPECS: &[&str] = &["净制", "切片", "段", "炒制", "粉"];
const HERB_UNITS: &[&str] = &["g", "kg"];

const SERVICES: &[&str] = &[
    "一般诊疗费",
    "静脉输液",
    "肌肉注射",
    "CT平扫",
    "磁共振平扫",
    "血常规检查",
    "尿常规检查",
    "肝功能检测",
    "彩色多普勒超声",
    "常规心电图",
    "一级护理",
    "普通病床床位费",
    "换药",
    "清创缝合",
    "血糖测定",
    "针灸",
    "推拿",
    "康复评定",
    "血液透析",
    "麻醉监测",
];
const SERVICE_QUALIFIERS: &[&str] = &["", "(加收)", "(儿童)", "(急诊)", "(每部位)", "(夜间)"];
const SERVICE_SPECS: &[&str] = &["门诊", "住院", "通用", "每次", "每日"];
const SERVICE_UNITS: &[&str] = &["次", "日", "项", "部位", "小时"];

const CONSUMABLE_PREFIXES: &[&str] = &["一次性使用", "医用", "无菌", "可吸收"];
const CONSUMABLES: &[(&str, &str)] = &[
    ("注射器", "支"),
    ("输液器", "套"),
    ("导尿管", "根"),
    ("缝合线", "根"),
    ("冠脉支架", "个"),
    ("敷料", "片"),
    ("人工髋关节", "套"),
    ("球囊扩张导管", "根"),
    ("留置针", "支"),
    ("骨科接骨板", "块"),
    ("吻合器", "个"),
    ("引流袋", "个"),
];
const CONSUMABLE_SPECS: &[&str] =
    &["5ml", "10ml", "2.5mm*18mm", "Φ0.7mm", "20cm*30cm", "标准型", "小号", "中号", "大号"];

const DIAGNOSES: &[&str] = &[
    "高血压",
    "糖尿病",
    "肺炎",
    "骨折",
    "冠心病",
    "脑梗死",
    "胃炎",
    "支气管哮喘",
    "肾功能不全",
    "贫血",
    "甲状腺功能亢进",
    "类风湿关节炎",
    "腰椎间盘突出",
    "白内障",
    "恶性肿瘤",
];
const DIAGNOSIS_PREFIXES: &[&str] = &["", "急性", "慢性", "复发性", "继发性"];
const DIAGNOSIS_SUFFIXES: &[&str] = &["", "伴并发症", "未特指", "(轻度)", "(重度)"];

const OPERATIONS: &[&str] = &[
    "冠状动脉支架置入术",
    "阑尾切除术",
    "胆囊切除术",
    "全髋关节置换术",
    "剖宫产术",
    "白内障超声乳化吸除术",
    "甲状腺部分切除术",
    "腹股沟疝修补术",
    "肾镜取石术",
    "椎间盘切除术",
];
const OPERATION_PREFIXES: &[&str] = &["", "腹腔镜下", "经皮", "开放性", "内镜下"];

fn syllables(rng: &mut Rng, list: &[&str], min: u64, max: u64) -> String {
    let n = rng.range(min, max);
    let mut s = String::with_capacity(16);
    for _ in 0..n {
        s.push_str(rng.pick(list));
    }
    s
}

/// `(name, spec, unit)` of an item of `kind`.
fn make_text(kind: Kind, rng: &mut Rng) -> (String, String, String) {
    match kind {
        Kind::Western => {
            let (form, unit) = rng.pick(WESTERN_FORMS);
            let strength = rng.pick(STRENGTHS);
            let name = format!("{}{form} {strength}", syllables(rng, WESTERN_SYLLABLES, 2, 4));
            (name, format!("{strength}{}", rng.pick(PACKS)), unit.to_owned())
        }
        Kind::Patent => {
            let (form, unit) = rng.pick(PATENT_FORMS);
            let name = format!("{}{form}", syllables(rng, PATENT_SYLLABLES, 2, 4));
            (name, rng.pick(PATENT_SPECS).to_owned(), unit.to_owned())
        }
        Kind::Herbal => {
            let name = format!("{}{}", rng.pick(HERB_PROCESSING), rng.pick(HERBS));
            (name, rng.pick(HERB_SPECS).to_owned(), rng.pick(HERB_UNITS).to_owned())
        }
        Kind::Service => {
            let name = format!("{}{}", rng.pick(SERVICES), rng.pick(SERVICE_QUALIFIERS));
            (name, rng.pick(SERVICE_SPECS).to_owned(), rng.pick(SERVICE_UNITS).to_owned())
        }
        Kind::Consumable => {
            let (item, unit) = rng.pick(CONSUMABLES);
            let name = format!("{}{item}", rng.pick(CONSUMABLE_PREFIXES));
            (name, rng.pick(CONSUMABLE_SPECS).to_owned(), unit.to_owned())
        }
        Kind::Diagnosis => {
            let name = format!(
                "{}{}{}",
                rng.pick(DIAGNOSIS_PREFIXES),
                rng.pick(DIAGNOSES),
                rng.pick(DIAGNOSIS_SUFFIXES)
            );
            (name, String::new(), String::new())
        }
        Kind::Operation => {
            let name = format!("{}{}", rng.pick(OPERATION_PREFIXES), rng.pick(OPERATIONS));
            (name, String::new(), String::new())
        }
    }
}

fn date_2025(rng: &mut Rng) -> String {
    let (month, day) = (rng.range(1, 12), rng.range(1, 28));
    format!("2025-{month:02}-{day:02}")
}

/// `(begin_date, end_date)`: ~3% begin later in 2025, ~1% are retired in 2025.
fn item_dates(rng: &mut Rng) -> (String, String) {
    let late = rng.chance(30);
    let begin = if late { date_2025(rng) } else { BASE_DATE.to_owned() };
    let end = if !rng.chance(10) {
        String::new()
    } else if late {
        // Any 2025 begin date is at most 2025-12-28.
        "2025-12-31".to_owned()
    } else {
        date_2025(rng)
    };
    (begin, end)
}

// ---------------------------------------------------------------------------------------------
// Coverage
// ---------------------------------------------------------------------------------------------

const B_RATIOS: &[&str] = &["0.05", "0.10", "0.15", "0.20", "0.30"];
const RATIOS_390: &[&str] = &["0.10", "0.15", "0.20", "0.30", "0.40"];
const RATIOS_310: &[&str] = &["0.05", "0.10", "0.15", "0.20"];
const LEVEL_LISTS: &[&str] = &["tertiary;secondary", "tertiary"];
const PREFIX_LISTS: &[&str] =
    &["E11;E10", "C", "I20;I21;I25", "J44", "M05;M06", "N18", "F20", "C34;C50", "E11"];
const AGE_LIMITS: &[(&str, &str)] = &[("", "14"), ("", "6"), ("60", ""), ("18", ""), ("6", "17")];
const CAP_MIN_FEN: u64 = 100;
const CAP_MAX_FEN: u64 = 5_000_000;

/// The attributes of one coverage rule.
#[derive(Debug)]
struct Cov {
    class: &'static str,
    ratio: &'static str,
    by_insutype: String,
    cap_fen: Option<u64>,
    levels: &'static str,
    prefixes: &'static str,
    min_age: &'static str,
    max_age: &'static str,
}

fn insutype_ratios(rng: &mut Rng) -> String {
    let (r390, r310) = (rng.pick(RATIOS_390), rng.pick(RATIOS_310));
    match rng.below(4) {
        0 => format!("390:{r390}"),
        1 => format!("310:{r310}"),
        _ => format!("390:{r390};310:{r310}"),
    }
}

fn ratios_for(rng: &mut Rng, class: &str) -> (&'static str, String) {
    if class == "B" {
        let by = if rng.chance(200) { insutype_ratios(rng) } else { String::new() };
        (rng.pick(B_RATIOS), by)
    } else {
        ("0", String::new())
    }
}

fn national_cov(rng: &mut Rng, kind: Kind) -> Cov {
    let (a, b) = match kind {
        Kind::Service => (500, 950),
        Kind::Consumable => (100, 700),
        _ => (350, 900),
    };
    let r = rng.below(1000);
    let class = if r < a {
        "A"
    } else if r < b {
        "B"
    } else {
        "C"
    };
    let (ratio, by_insutype) = ratios_for(rng, class);
    let cap_fen = match kind {
        Kind::Service => Some(match rng.below(1000) {
            0..600 => rng.range(100, 10_000),
            600..900 => rng.range(10_000, 100_000),
            _ => rng.range(100_000, 500_000),
        }),
        Kind::Consumable if rng.chance(700) => Some(match rng.below(1000) {
            0..500 => rng.range(100, 10_000),
            500..850 => rng.range(10_000, 500_000),
            _ => rng.range(500_000, CAP_MAX_FEN),
        }),
        _ => None,
    };
    let mut cov = Cov {
        class,
        ratio,
        by_insutype,
        cap_fen,
        levels: "",
        prefixes: "",
        min_age: "",
        max_age: "",
    };
    if kind.is_drug() {
        if rng.chance(50) {
            cov.levels = rng.pick(LEVEL_LISTS);
        }
        if rng.chance(30) {
            cov.prefixes = rng.pick(PREFIX_LISTS);
        }
        if rng.chance(20) {
            (cov.min_age, cov.max_age) = rng.pick(AGE_LIMITS);
        }
    }
    cov
}

/// A provincial override derived from the national rule: class may move (e.g. a C drug taken
/// into a provincial list as B), the ratio is re-drawn and price caps move by ±20%.
fn province_cov(rng: &mut Rng, national: &Cov) -> Cov {
    let class = match national.class {
        "C" => {
            if rng.chance(600) {
                "B"
            } else {
                "C"
            }
        }
        "B" => {
            if rng.chance(150) {
                "A"
            } else {
                "B"
            }
        }
        _ => {
            if rng.chance(100) {
                "B"
            } else {
                "A"
            }
        }
    };
    let (ratio, by_insutype) = ratios_for(rng, class);
    let cap_fen = national
        .cap_fen
        .map(|fen| (fen.saturating_mul(rng.range(80, 120)) / 100).clamp(CAP_MIN_FEN, CAP_MAX_FEN));
    Cov {
        class,
        ratio,
        by_insutype,
        cap_fen,
        levels: national.levels,
        prefixes: national.prefixes,
        min_age: national.min_age,
        max_age: national.max_age,
    }
}

fn fen_text(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn coverage_row(scope: &str, code: String, cov: &Cov) -> Row {
    Row::from([
        ("scope", scope.to_owned()),
        ("code", code),
        ("class", cov.class.to_owned()),
        ("selfpay_ratio", cov.ratio.to_owned()),
        ("selfpay_ratio_by_insutype", cov.by_insutype.clone()),
        ("price_cap", cov.cap_fen.map(fen_text).unwrap_or_default()),
        ("hospital_levels", cov.levels.to_owned()),
        ("diagnosis_prefixes", cov.prefixes.to_owned()),
        ("min_age", cov.min_age.to_owned()),
        ("max_age", cov.max_age.to_owned()),
        ("begin_date", BASE_DATE.to_owned()),
        ("end_date", String::new()),
    ])
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// A chargeable item: where its row is and whether it is in force on 2024-06-01.
#[derive(Debug)]
struct Chargeable {
    item: usize,
    kind: Kind,
    in_force: bool,
}

fn column(row: Option<&Row>, name: &str) -> String {
    row.and_then(|r| r.get(name)).cloned().unwrap_or_default()
}

/// The demo pharmacies, a few in every province: `P` + the province's admdvs + a 5-digit
/// sequence, level `ungraded` (the same whatever the seed and scale).
#[must_use]
pub fn demo_pharmacies() -> Vec<DemoHospital> {
    let mut pharmacies = Vec::with_capacity(PROVINCES.len() * PHARMACIES_PER_PROVINCE);
    for province in PROVINCES {
        for n in 1..=PHARMACIES_PER_PROVINCE {
            pharmacies.push(DemoHospital {
                fixmedins_code: format!("P{province}{n:05}"),
                admdvs: province.to_owned(),
                level: "ungraded",
                name: format!("{province} 第{n}大药房"),
            });
        }
    }
    pharmacies
}

fn make_hospitals() -> Vec<DemoHospital> {
    let mut hospitals = Vec::with_capacity(PROVINCES.len() * HOSPITALS_PER_PROVINCE);
    for province in PROVINCES {
        for n in 1..=HOSPITALS_PER_PROVINCE {
            hospitals.push(DemoHospital {
                fixmedins_code: format!("H{province}{n:05}"),
                admdvs: province.to_owned(),
                level: LEVELS.get((n - 1) % LEVELS.len()).copied().unwrap_or("primary"),
                name: format!("{province} 第{n}人民医院"),
            });
        }
    }
    hospitals
}

/// Generates the synthetic catalogue. Same `seed` and `scale` → identical output.
#[must_use]
pub fn generate(seed: u64, scale: Scale) -> DemoCatalog {
    let mut rng = Rng::new(seed);

    // Items.
    let total: usize = KINDS.iter().map(|k| k.count(scale)).sum();
    let mut items: Vec<Row> = Vec::with_capacity(total);
    let mut chargeable: Vec<Chargeable> = Vec::with_capacity(total);
    for kind in KINDS {
        for idx in 0..kind.count(scale) {
            let code = make_code(kind, &mut rng, idx);
            let (name, spec, unit) = make_text(kind, &mut rng);
            let (begin, end) = item_dates(&mut rng);
            if kind.is_chargeable() {
                let in_force = begin == BASE_DATE && end.is_empty();
                chargeable.push(Chargeable { item: items.len(), kind, in_force });
            }
            items.push(Row::from([
                ("code", code),
                ("kind", kind.label().to_owned()),
                ("name", name),
                ("spec", spec),
                ("unit", unit),
                ("begin_date", begin),
                ("end_date", end),
                ("operation_code", String::new()),
                ("operation_name", String::new()),
            ]));
        }
    }
    for (kind, code, name, operation_code, operation_name) in DISEASE_LISTS {
        items.push(Row::from([
            ("code", code.to_owned()),
            ("kind", names::name(kind).to_owned()),
            ("name", name.to_owned()),
            ("spec", String::new()),
            ("unit", String::new()),
            ("begin_date", BASE_DATE.to_owned()),
            ("end_date", String::new()),
            ("operation_code", operation_code.to_owned()),
            ("operation_name", operation_name.to_owned()),
        ]));
    }

    // Coverage: one national rule per chargeable item, then ~3% overrides per province.
    let per_province = chargeable.len() / 25 + 16;
    let mut coverage: Vec<Row> =
        Vec::with_capacity(chargeable.len() + PROVINCES.len() * per_province);
    let mut national: Vec<Cov> = Vec::with_capacity(chargeable.len());
    for c in &chargeable {
        let cov = national_cov(&mut rng, c.kind);
        coverage.push(coverage_row(NATIONAL_SCOPE, column(items.get(c.item), "code"), &cov));
        national.push(cov);
    }
    for province in PROVINCES {
        for (c, nat) in chargeable.iter().zip(&national) {
            if rng.chance(30) {
                let cov = province_cov(&mut rng, nat);
                coverage.push(coverage_row(province, column(items.get(c.item), "code"), &cov));
            }
        }
    }

    // Mappings: each hospital maps distinct in-force chargeable items, each pharmacy distinct
    // in-force drugs (partial Fisher–Yates over one shared pool, so each costs O(k)).
    let hospitals = make_hospitals();
    let pharmacies = demo_pharmacies();
    let mut pool: Vec<usize> = chargeable.iter().filter(|c| c.in_force).map(|c| c.item).collect();
    let mut drugs: Vec<usize> =
        chargeable.iter().filter(|c| c.in_force && c.kind.is_drug()).map(|c| c.item).collect();
    let (base, spread, drug_base, drug_spread) = match scale {
        Scale::Full => (1_900, 201, 300, 101),
        Scale::Small => (45, 11, 20, 11),
    };
    let mut mappings: Vec<Row> = Vec::with_capacity(
        hospitals.len() * (base + spread) + pharmacies.len() * (drug_base + drug_spread),
    );
    let mut chosen: Vec<usize> = Vec::with_capacity(base + spread);
    // Hospitals map any chargeable item, pharmacies drugs only.
    let institutions = hospitals
        .iter()
        .map(|h| (h, base, spread, false))
        .chain(pharmacies.iter().map(|p| (p, drug_base, drug_spread, true)));
    for (hospital, base, spread, drugs_only) in institutions {
        let pool = if drugs_only { &mut drugs } else { &mut pool };
        let k = (base + rng.below_usize(spread)).min(pool.len());
        let prefix = rng.range(100, 999);
        for j in 0..k {
            let r = j + rng.below_usize(pool.len() - j);
            pool.swap(j, r);
        }
        chosen.clear();
        chosen.extend(pool.iter().take(k));
        // Catalogue order: local codes follow it, and the item rows are read front to back.
        chosen.sort_unstable();
        for (j, &item) in chosen.iter().enumerate() {
            let row = items.get(item);
            // Increasing and unique within the hospital, but not consecutive.
            let local = j.saturating_mul(7).saturating_add(rng.below_usize(7)) % 1_000_000;
            mappings.push(Row::from([
                ("fixmedins_code", hospital.fixmedins_code.clone()),
                ("local_code", format!("L{prefix:03}{local:06}")),
                ("local_name", column(row, "name")),
                ("national_code", column(row, "code")),
                ("begin_date", BASE_DATE.to_owned()),
            ]));
        }
    }

    DemoCatalog { items, coverage, mappings, hospitals, pharmacies }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap, HashSet};
    use std::sync::OnceLock;

    const SEED: u64 = 20_240_601;

    fn full() -> &'static DemoCatalog {
        static FULL: OnceLock<DemoCatalog> = OnceLock::new();
        FULL.get_or_init(|| generate(SEED, Scale::Full))
    }

    fn small() -> &'static DemoCatalog {
        static SMALL: OnceLock<DemoCatalog> = OnceLock::new();
        SMALL.get_or_init(|| generate(SEED, Scale::Small))
    }

    fn both() -> [&'static DemoCatalog; 2] {
        [full(), small()]
    }

    fn get<'a>(row: &'a Row, column: &str) -> &'a str {
        row.get(column).map_or("", String::as_str)
    }

    // --- validators -------------------------------------------------------------------------

    fn all_digits(s: &str) -> bool {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
    }

    fn upper_alnum(s: &str) -> bool {
        s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }

    fn is_western(c: &str) -> bool {
        c.strip_prefix('X').is_some_and(|r| r.len() == 22 && upper_alnum(r))
    }

    fn is_patent(c: &str) -> bool {
        c.strip_prefix('Z').is_some_and(|r| r.len() == 22 && upper_alnum(r))
    }

    fn is_herbal(c: &str) -> bool {
        c.strip_prefix('T').is_some_and(|r| r.len() == 9 && all_digits(r))
    }

    fn is_service(c: &str) -> bool {
        c.len() == 15 && all_digits(c)
    }

    fn is_consumable(c: &str) -> bool {
        c.strip_prefix('C').is_some_and(|r| r.len() == 19 && all_digits(r))
    }

    fn is_diagnosis(c: &str) -> bool {
        let b = c.as_bytes();
        if b.len() != 7 && b.len() != 11 {
            return false;
        }
        let head = b[0].is_ascii_uppercase()
            && b[1].is_ascii_digit()
            && b[2].is_ascii_digit()
            && b[3] == b'.'
            && b[4..7].iter().all(|x| x.is_ascii_digit() || x.is_ascii_lowercase());
        let tail = b.len() == 7 || (b[7] == b'x' && b[8..].iter().all(u8::is_ascii_digit));
        head && tail
    }

    fn is_operation(c: &str) -> bool {
        let Some((a, rest)) = c.split_once('.') else { return false };
        if a.len() != 2 || !all_digits(a) {
            return false;
        }
        let (main, ext) = match rest.split_once('x') {
            Some((m, x)) => (m, Some(x)),
            None => (rest, None),
        };
        (2..=4).contains(&main.len())
            && all_digits(main)
            && ext.is_none_or(|x| x.len() == 3 && all_digits(x))
    }

    fn code_ok(kind: &str, code: &str) -> bool {
        match kind {
            "western_drug" => is_western(code),
            "patent_drug" => is_patent(code),
            "herbal" => is_herbal(code),
            "service" => is_service(code),
            "consumable" => is_consumable(code),
            "diagnosis" => is_diagnosis(code),
            "operation" => is_operation(code),
            "disease_payment" | "day_surgery" => {
                code.starts_with(|c: char| c.is_ascii_uppercase())
                    && code.len() <= 30
                    && code.bytes().all(|b| {
                        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'x'
                    })
            }
            _ => false,
        }
    }

    /// The mappings of the demo hospitals (not the pharmacies').
    fn hospital_mappings(c: &DemoCatalog) -> usize {
        c.mappings.iter().filter(|r| get(r, "fixmedins_code").starts_with('H')).count()
    }

    fn is_chargeable_kind(kind: &str) -> bool {
        matches!(kind, "western_drug" | "patent_drug" | "herbal" | "service" | "consumable")
    }

    /// A ratio in ten-thousandths, if it is a decimal in [0, 1] with at most 4 decimals.
    fn ratio_1e4(s: &str) -> Option<u32> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.len() != 1
            || !all_digits(int)
            || frac.len() > 4
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        if s.contains('.') && frac.is_empty() {
            return None;
        }
        let mut value = u32::from(int.as_bytes()[0] - b'0') * 10_000;
        let mut weight = 1_000;
        for b in frac.bytes() {
            value += u32::from(b - b'0') * weight;
            weight /= 10;
        }
        (value <= 10_000).then_some(value)
    }

    fn cap_fen(s: &str) -> Option<u64> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if !all_digits(int) || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if s.contains('.') && frac.is_empty() {
            return None;
        }
        let mut fen = int.parse::<u64>().ok()? * 100;
        let digits: Vec<u64> = frac.bytes().map(|b| u64::from(b - b'0')).collect();
        fen += digits.first().copied().unwrap_or(0) * 10 + digits.get(1).copied().unwrap_or(0);
        Some(fen)
    }

    fn date_ok(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return false;
        }
        let (year, month, day) = (&s[..4], &s[5..7], &s[8..]);
        if !all_digits(year) || !all_digits(month) || !all_digits(day) {
            return false;
        }
        let (month, day): (u32, u32) = (month.parse().unwrap(), day.parse().unwrap());
        (1..=12).contains(&month) && (1..=31).contains(&day)
    }

    fn age(s: &str) -> Option<u32> {
        if s.is_empty() { None } else { Some(s.parse::<u32>().unwrap()) }
    }

    fn count_kind(c: &DemoCatalog, kind: &str) -> usize {
        c.items.iter().filter(|r| get(r, "kind") == kind).count()
    }

    fn item_kinds(c: &DemoCatalog) -> HashMap<&str, &Row> {
        c.items.iter().map(|r| (get(r, "code"), r)).collect()
    }

    // --- tests ------------------------------------------------------------------------------

    #[test]
    fn same_seed_gives_identical_output() {
        assert_eq!(generate(7, Scale::Small), generate(7, Scale::Small));
        assert!(generate(SEED, Scale::Full) == *full());
    }

    #[test]
    fn different_seed_gives_different_output() {
        let (a, b) = (generate(1, Scale::Small), generate(2, Scale::Small));
        assert!(a.items != b.items);
        assert!(a.coverage != b.coverage);
        assert!(a.mappings != b.mappings);
        assert!(generate(SEED + 1, Scale::Full).items != full().items);
    }

    #[test]
    fn full_has_minimum_sizes_per_kind() {
        let c = full();
        let (w, p, h) =
            (count_kind(c, "western_drug"), count_kind(c, "patent_drug"), count_kind(c, "herbal"));
        let drugs = w + p + h;
        assert!(drugs >= 30_000, "drugs {drugs}");
        assert!(w * 100 >= drugs * 55 && w * 100 <= drugs * 65, "western {w} of {drugs}");
        assert!(p * 100 >= drugs * 25 && p * 100 <= drugs * 35, "patent {p} of {drugs}");
        assert!(h * 100 >= drugs * 7 && h * 100 <= drugs * 13, "herbal {h} of {drugs}");
        assert!(count_kind(c, "service") >= 10_000);
        assert!(count_kind(c, "consumable") >= 20_000);
        assert!(count_kind(c, "diagnosis") >= 20_000);
        let ops = count_kind(c, "operation");
        assert!((1_800..=2_500).contains(&ops), "operations {ops}");
        assert_eq!(c.hospitals.len(), 96);
        assert_eq!(c.pharmacies.len(), 64);
        let mapped = hospital_mappings(c) / c.hospitals.len();
        assert!((1_800..=2_200).contains(&mapped), "{mapped} mappings per hospital");
    }

    #[test]
    fn small_is_about_one_hundredth() {
        let (s, f) = (small(), full());
        for kind in [
            "western_drug",
            "patent_drug",
            "herbal",
            "service",
            "consumable",
            "diagnosis",
            "operation",
        ] {
            let n = count_kind(s, kind);
            assert!(n >= 20, "{kind}: {n}");
            assert!(n <= count_kind(f, kind) / 50, "{kind}: {n}");
        }
        assert!(s.hospitals.len() >= 32);
        let per = hospital_mappings(s) / s.hospitals.len();
        assert!((40..=60).contains(&per), "{per} mappings per hospital");
    }

    #[test]
    fn rows_have_exactly_the_documented_columns() {
        // The importer's own column lists: the generator must write exactly what it reads.
        let item_cols: BTreeSet<&str> =
            medclear_catalog::import::ITEM_COLUMNS.into_iter().collect();
        let cov_cols: BTreeSet<&str> =
            medclear_catalog::import::COVERAGE_COLUMNS.into_iter().collect();
        let map_cols: BTreeSet<&str> =
            medclear_catalog::import::MAPPING_COLUMNS.into_iter().collect();
        for c in both() {
            assert!(
                c.items.iter().all(|r| r.keys().copied().collect::<BTreeSet<_>>() == item_cols)
            );
            assert!(
                c.coverage.iter().all(|r| r.keys().copied().collect::<BTreeSet<_>>() == cov_cols)
            );
            assert!(
                c.mappings.iter().all(|r| r.keys().copied().collect::<BTreeSet<_>>() == map_cols)
            );
            for row in c.items.iter().chain(&c.coverage).chain(&c.mappings) {
                for v in row.values() {
                    assert!(!v.contains([',', '，', '\n', '\r', '"']), "{v:?}");
                    assert_eq!(v.trim(), v);
                }
            }
        }
    }

    #[test]
    fn every_code_matches_its_kind_format() {
        for c in both() {
            for row in &c.items {
                let (kind, code) = (get(row, "kind"), get(row, "code"));
                assert!(code_ok(kind, code), "{kind} {code}");
            }
        }
        // The validators themselves reject the obvious mistakes and accept the documented examples.
        assert!(is_western("XL02BBA326A001010102180") && !is_western("XL02BBA326A00101010218"));
        assert!(is_service("003401000230600") && is_consumable("C0101010011303807555"));
        assert!(
            is_diagnosis("I10.x00x002") && is_diagnosis("E11.900") && is_diagnosis("S33.500x011")
        );
        assert!(!is_diagnosis("E11.90") && !is_diagnosis("e11.900") && !is_diagnosis("E11.900x01"));
        assert!(
            is_operation("36.0601x001")
                && is_operation("36.06")
                && !is_operation("36.0")
                && !is_operation("36.06012")
        );
        assert!(is_herbal("T000100001") && !is_herbal("T00010000A"));
    }

    #[test]
    fn codes_are_unique_across_the_catalogue() {
        for c in both() {
            let mut seen = HashSet::with_capacity(c.items.len());
            for row in &c.items {
                assert!(seen.insert(get(row, "code")), "duplicate {}", get(row, "code"));
            }
        }
    }

    #[test]
    fn items_have_valid_names_and_dates() {
        for c in both() {
            let (mut late, mut retired) = (0_usize, 0_usize);
            for row in &c.items {
                assert!(!get(row, "name").is_empty());
                assert!(
                    get(row, "name").chars().count() <= 200
                        && get(row, "spec").chars().count() <= 200
                );
                assert!(get(row, "unit").chars().count() <= 20);
                let (begin, end) = (get(row, "begin_date"), get(row, "end_date"));
                assert!(date_ok(begin), "{begin}");
                if begin != BASE_DATE {
                    assert!(begin.starts_with("2025-"));
                    late += 1;
                }
                if !end.is_empty() {
                    assert!(
                        date_ok(end) && end.starts_with("2025-") && end > begin,
                        "{begin} {end}"
                    );
                    retired += 1;
                }
            }
            let n = c.items.len();
            if n > 10_000 {
                assert!(late * 1000 >= n * 20 && late * 1000 <= n * 40, "late {late} of {n}");
                assert!(
                    retired * 1000 >= n * 5 && retired * 1000 <= n * 15,
                    "retired {retired} of {n}"
                );
            }
        }
    }

    #[test]
    fn coverage_refers_to_chargeable_items_once_nationally() {
        for c in both() {
            let items = item_kinds(c);
            let mut national: HashMap<&str, usize> = HashMap::new();
            let mut per_province: HashMap<&str, usize> = HashMap::new();
            for row in &c.coverage {
                let code = get(row, "code");
                let item = items.get(code).unwrap_or_else(|| panic!("coverage for unknown {code}"));
                assert!(is_chargeable_kind(get(item, "kind")), "coverage for {code}");
                let scope = get(row, "scope");
                assert!(scope == NATIONAL_SCOPE || PROVINCES.contains(&scope), "{scope}");
                if scope == NATIONAL_SCOPE {
                    *national.entry(code).or_default() += 1;
                } else {
                    *per_province.entry(scope).or_default() += 1;
                }
            }
            let chargeable = c.items.iter().filter(|r| is_chargeable_kind(get(r, "kind"))).count();
            assert_eq!(national.len(), chargeable);
            assert!(national.values().all(|&n| n == 1));
            assert_eq!(per_province.len(), PROVINCES.len());
            if chargeable > 10_000 {
                for (p, n) in per_province {
                    assert!(n * 100 >= chargeable * 2 && n * 100 <= chargeable * 4, "{p}: {n}");
                }
            }
        }
    }

    #[test]
    fn coverage_values_are_valid() {
        let levels = ["tertiary", "secondary", "primary", "ungraded"];
        for c in both() {
            let items = item_kinds(c);
            for row in &c.coverage {
                let class = get(row, "class");
                assert!(["A", "B", "C"].contains(&class));
                let ratio = get(row, "selfpay_ratio");
                assert!(ratio_1e4(ratio).is_some(), "{ratio}");
                let by = get(row, "selfpay_ratio_by_insutype");
                for pair in by.split(';').filter(|p| !p.is_empty()) {
                    let (insutype, r) = pair.split_once(':').unwrap();
                    assert!(insutype == "310" || insutype == "390", "{by}");
                    assert!(ratio_1e4(r).is_some(), "{by}");
                }
                if class == "B" {
                    assert!(ratio_1e4(ratio).is_some_and(|r| r > 0));
                } else {
                    assert_eq!(ratio_1e4(ratio), Some(0));
                    assert!(by.is_empty());
                }
                let kind = get(items[get(row, "code")], "kind");
                let cap = get(row, "price_cap");
                if kind == "service" {
                    assert!(!cap.is_empty());
                }
                if !cap.is_empty() {
                    assert!(kind == "service" || kind == "consumable", "{kind} with cap");
                    let fen = cap_fen(cap).unwrap_or_else(|| panic!("{cap}"));
                    assert!((100..=5_000_000).contains(&fen), "{cap}");
                }
                for level in get(row, "hospital_levels").split(';').filter(|l| !l.is_empty()) {
                    assert!(levels.contains(&level));
                }
                for prefix in get(row, "diagnosis_prefixes").split(';').filter(|p| !p.is_empty()) {
                    assert!(prefix.starts_with(|ch: char| ch.is_ascii_uppercase()));
                    assert!(prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
                }
                let (min, max) = (age(get(row, "min_age")), age(get(row, "max_age")));
                assert!(min.is_none_or(|a| a <= 120) && max.is_none_or(|a| a <= 120));
                if let (Some(min), Some(max)) = (min, max) {
                    assert!(min <= max);
                }
                assert_eq!(get(row, "begin_date"), BASE_DATE);
                assert_eq!(get(row, "end_date"), "");
            }
        }
    }

    #[test]
    fn national_class_mix_is_roughly_as_documented() {
        let c = full();
        let items = item_kinds(c);
        let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
        let mut totals: HashMap<&str, usize> = HashMap::new();
        let mut consumable_caps = 0_usize;
        for row in c.coverage.iter().filter(|r| get(r, "scope") == NATIONAL_SCOPE) {
            let kind = match get(items[get(row, "code")], "kind") {
                "service" => "service",
                "consumable" => "consumable",
                _ => "drug",
            };
            *counts.entry((kind, get(row, "class"))).or_default() += 1;
            *totals.entry(kind).or_default() += 1;
            if kind == "consumable" && !get(row, "price_cap").is_empty() {
                consumable_caps += 1;
            }
        }
        let expected = [
            ("drug", "A", 35),
            ("drug", "B", 55),
            ("drug", "C", 10),
            ("service", "A", 50),
            ("service", "B", 45),
            ("service", "C", 5),
            ("consumable", "A", 10),
            ("consumable", "B", 60),
            ("consumable", "C", 30),
        ];
        for (kind, class, pct) in expected {
            let (n, total) = (counts.get(&(kind, class)).copied().unwrap_or(0), totals[kind]);
            assert!(
                n * 100 + total * 3 >= total * pct && n * 100 <= total * (pct + 3),
                "{kind} {class}: {n} of {total}"
            );
        }
        let consumables = totals["consumable"];
        assert!(
            consumable_caps * 100 >= consumables * 65 && consumable_caps * 100 <= consumables * 75
        );
    }

    #[test]
    fn provincial_price_caps_stay_within_twenty_percent() {
        let c = full();
        let national: HashMap<&str, &str> = c
            .coverage
            .iter()
            .filter(|r| get(r, "scope") == NATIONAL_SCOPE)
            .map(|r| (get(r, "code"), get(r, "price_cap")))
            .collect();
        for row in c.coverage.iter().filter(|r| get(r, "scope") != NATIONAL_SCOPE) {
            let nat = national[get(row, "code")];
            let cap = get(row, "price_cap");
            assert_eq!(nat.is_empty(), cap.is_empty());
            if let (Some(n), Some(p)) = (cap_fen(nat), cap_fen(cap)) {
                assert!(p * 100 + 100 >= n * 80 && p * 100 <= n * 120 + 100, "{nat} -> {cap}");
            }
        }
    }

    #[test]
    fn hospitals_are_well_formed() {
        for c in both() {
            let mut codes = HashSet::new();
            for (i, h) in c.hospitals.iter().enumerate() {
                assert!(PROVINCES.contains(&h.admdvs.as_str()));
                assert_eq!(h.fixmedins_code.len(), 12);
                assert!(h.fixmedins_code.starts_with('H') && all_digits(&h.fixmedins_code[1..]));
                assert_eq!(&h.fixmedins_code[1..7], h.admdvs);
                assert_eq!(h.level, LEVELS[i % 3]);
                assert!(h.name.starts_with(h.admdvs.as_str()) && h.name.ends_with("人民医院"));
                assert!(codes.insert(h.fixmedins_code.as_str()));
            }
            let provinces: HashSet<&str> = c.hospitals.iter().map(|h| h.admdvs.as_str()).collect();
            assert_eq!(provinces.len(), 32);
        }
    }

    #[test]
    fn mappings_point_to_chargeable_items_in_force() {
        for c in both() {
            let items = item_kinds(c);
            let hospitals: HashSet<&str> = c
                .hospitals
                .iter()
                .chain(&c.pharmacies)
                .map(|h| h.fixmedins_code.as_str())
                .collect();
            let mut locals: HashSet<(&str, &str)> = HashSet::with_capacity(c.mappings.len());
            let mut nationals: HashSet<(&str, &str)> = HashSet::with_capacity(c.mappings.len());
            let mut per_hospital: HashMap<&str, usize> = HashMap::new();
            for row in &c.mappings {
                let hospital = get(row, "fixmedins_code");
                assert!(hospitals.contains(hospital), "{hospital}");
                let national = get(row, "national_code");
                let item =
                    items.get(national).unwrap_or_else(|| panic!("mapping to unknown {national}"));
                assert!(is_chargeable_kind(get(item, "kind")));
                if hospital.starts_with('P') {
                    let kind = get(item, "kind");
                    assert!(["western_drug", "patent_drug", "herbal"].contains(&kind), "{kind}");
                }
                assert_eq!(get(item, "begin_date"), "2024-01-01");
                assert_eq!(get(item, "end_date"), "");
                assert_eq!(get(row, "local_name"), get(item, "name"));
                assert_eq!(get(row, "begin_date"), "2024-01-01");
                let local = get(row, "local_code");
                assert!(
                    local.strip_prefix('L').is_some_and(|d| d.len() == 9 && all_digits(d)),
                    "{local}"
                );
                assert!(
                    locals.insert((hospital, local)),
                    "duplicate local code {local} at {hospital}"
                );
                assert!(
                    nationals.insert((hospital, national)),
                    "{national} mapped twice at {hospital}"
                );
                *per_hospital.entry(hospital).or_default() += 1;
            }
            assert_eq!(per_hospital.len(), c.hospitals.len() + c.pharmacies.len());
        }
    }

    #[test]
    fn pharmacies_are_well_formed_and_map_a_few_drugs() {
        for c in both() {
            let mut codes = HashSet::new();
            for p in &c.pharmacies {
                assert!(PROVINCES.contains(&p.admdvs.as_str()));
                assert!(p.fixmedins_code.starts_with('P') && all_digits(&p.fixmedins_code[1..]));
                assert_eq!((p.fixmedins_code.len(), &p.fixmedins_code[1..7]), (12, &*p.admdvs));
                assert_eq!(p.level, "ungraded");
                assert!(p.name.ends_with("大药房"), "{}", p.name);
                assert!(codes.insert(p.fixmedins_code.as_str()));
            }
            let provinces: HashSet<&str> = c.pharmacies.iter().map(|p| p.admdvs.as_str()).collect();
            assert_eq!(provinces.len(), 32);
        }
        let s = small();
        let per = (s.mappings.len() - hospital_mappings(s)) / s.pharmacies.len();
        assert!((20..=30).contains(&per), "{per} mappings per pharmacy");
    }

    #[test]
    fn the_disease_lists_are_in_the_catalogue_with_their_operations() {
        for c in both() {
            let items = item_kinds(c);
            for (kind, code, name, operation_code, operation_name) in DISEASE_LISTS {
                let row = items[code];
                assert_eq!((get(row, "kind"), get(row, "name")), (names::name(kind), name));
                assert!(code_ok(get(row, "kind"), code), "{code}");
                assert_eq!(get(row, "operation_code"), operation_code);
                assert_eq!(get(row, "operation_name"), operation_name);
                assert_eq!(operation_code.is_empty(), operation_name.is_empty());
                assert!(
                    operation_code.is_empty() || is_operation(operation_code),
                    "{operation_code}"
                );
                if kind == ItemKind::DaySurgery {
                    assert!(!operation_code.is_empty(), "a day surgery names its operation");
                }
            }
            let listed = |kind: &str| count_kind(c, kind);
            assert_eq!((listed("disease_payment"), listed("day_surgery")), (5, 5));
        }
    }
}
