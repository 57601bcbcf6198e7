//! The pages' shell: the HTML document around every page, the style sheet (served by the
//! gateway, no CDN, no web fonts, no script), the language of a request and every label in
//! Chinese and English ([`T`]), escaping, and the responses pages answer with.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};

pub(crate) use crate::svg::escape as esc;

/// The language of a page: `?lang=en|zh`, else the `medclear_lang` cookie a `?lang` set, else
/// `Accept-Language`, else Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

const LANG_COOKIE: &str = "medclear_lang";

impl Lang {
    /// The `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().get(..2) {
            Some("zh") => Some(Self::Zh),
            Some("en") => Some(Self::En),
            _ => None,
        }
    }

    /// The language asked for: the query's `lang`, the cookie, then the first of
    /// `Accept-Language` that is Chinese or English.
    pub fn choose(query: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> Self {
        query
            .and_then(Self::parse)
            .or_else(|| cookie.and_then(Self::parse))
            .or_else(|| accept.and_then(|a| a.split(',').find_map(Self::parse)))
            .unwrap_or(Self::Zh)
    }

    fn other(self) -> Self {
        match self {
            Self::Zh => Self::En,
            Self::En => Self::Zh,
        }
    }
}

macro_rules! texts {
    ($($name:ident => $zh:literal, $en:literal;)*) => {
        /// Every label of the pages, each in both languages (the compiler sees to it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($name,)* }

        impl T {
            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Self::$name, Lang::Zh) => $zh, (Self::$name, Lang::En) => $en,)*
                }
            }
        }
    };
}

texts! {
    Site => "跨省异地就医直接结算", "Cross-province medical insurance settlement";
    SkipToContent => "跳到正文", "Skip to content";
    OtherLanguage => "English", "中文";
    Home => "首页", "Home";
    DevelopmentMode => "开发模式：明文 HTTP，仅限本机。", "Development mode: plain HTTP on this machine only.";
    LandingIntro => "参保人在线办理异地就医备案、查看结算；医保局查看清算结果与预付金。", "Insured people file for treatment elsewhere and see their settlements; insurance bureaus review clearing and their prepaid funds.";
    ForCitizens => "参保人", "Insured people";
    ForCitizensText => "办理、查看、撤销异地就医备案；查看本人结算明细。", "File for treatment in another province, see or revoke your filings, see your settlements.";
    ForBureaus => "医保局", "Insurance bureaus";
    ForBureausText => "清算期、净额头寸、往来图表、预付金；确认或提出异议。", "Clearing periods, net positions, counterpart charts, prepaid funds; confirm or dispute.";
    CitizenSignIn => "参保人登录", "Sign in (insured person)";
    Certno => "身份证号", "Citizen ID number";
    CertnoHelp => "18 位居民身份证号码。", "Your 18-character resident ID number.";
    SendCode => "获取验证码", "Send me a code";
    CodeSent => "如该证件号已参保，验证码已发送（5 分钟内有效，可试 5 次）。", "If this ID number is insured, a code has been sent (valid 5 minutes, 5 tries).";
    Code => "验证码", "One-time code";
    CodeHelp => "6 位数字。", "6 digits.";
    SignIn => "登录", "Sign in";
    SignOut => "退出", "Sign out";
    DevCode => "开发模式：本次验证码为", "Development mode: the code is";
    DevNoCode => "开发模式：没有待用的验证码（该证件号未登记？）", "Development mode: no code is pending (is the ID number registered?)";
    OtherNumber => "换一个证件号", "Use another ID number";
    MissingCertno => "请填写身份证号。", "Enter your ID number.";
    WrongCode => "验证码不正确。", "That is not the code we sent.";
    CodeExpired => "验证码已过期或尝试次数过多，请重新获取。", "The code has expired or was tried too often: ask for a new one.";
    NoCode => "尚未获取验证码，请先获取。", "No code was sent to this ID number: ask for one.";
    MyFilings => "我的备案", "My filings";
    NewFiling => "新办备案", "New filing";
    MySettlements => "我的结算", "My settlements";
    NoFilings => "还没有备案。", "You have no filings yet.";
    Category => "备案类别", "Category";
    Destination => "就医地", "Where you will be treated";
    HomeRegion => "参保地", "Where you are insured";
    Validity => "有效期", "Valid";
    BeginDate => "开始日期", "Start date";
    EndDate => "结束日期", "End date";
    OpenEnded => "长期有效", "open-ended";
    Status => "状态", "Status";
    Active => "有效", "active";
    Revoked => "已撤销", "revoked";
    Details => "详情", "Details";
    FilingNo => "备案号", "Filing number";
    FiledAt => "办理时间", "Filed at";
    FiledBy => "办理渠道", "Filed through";
    Memo => "备注", "Note";
    MemoHelp => "可不填。", "Optional.";
    Submit => "提交备案", "File";
    LongTermGroup => "长期（异地长期居住类）", "Long-term";
    TemporaryGroup => "临时外出就医", "Temporary";
    CatRetireeResettled => "异地安置退休", "Retiree resettled elsewhere";
    CatLongTermResident => "异地长期居住", "Long-term resident elsewhere";
    CatStationedWorker => "常驻异地工作", "Stationed to work elsewhere";
    CatReferral => "转诊转院", "Referral / transfer";
    CatEmergency => "急诊抢救", "Emergency";
    CatOtherTemporary => "其他临时外出就医", "Other temporary treatment";
    ChooseCategory => "请选择类别", "Choose a category";
    ChooseDestination => "请选择就医地", "Choose where";
    DestinationHelp => "可选省（全省有效）或市（仅该市）。必须在参保地以外的省份。", "A province (covers all of it) or a city (only that city), in another province than where you are insured.";
    BeginHelp => "不早于今天，不晚于一年后。", "Not before today, not more than a year ahead.";
    EndHelp => "长期备案不填；临时备案不填则有效 6 个月。", "Leave empty for long-term filings; a temporary filing without an end date is valid 6 months.";
    RulesHeading => "备案规则", "The rules";
    RuleLongTerm => "长期备案（异地安置退休、异地长期居住、常驻异地工作）长期有效，生效后 6 个月内不能撤销或变更（生效前可以撤回）。", "Long-term filings (retirees resettled, long-term residents, stationed workers) are open-ended and cannot be revoked or changed within 6 months of taking effect (before that they can be withdrawn).";
    RuleTemporary => "临时备案（转诊转院、急诊抢救、其他临时外出就医）有效期至少 6 个月，期内可多次就医。", "Temporary filings (referral, emergency, other temporary) are valid at least 6 months, for any number of visits.";
    RuleElsewhere => "就医地须在参保地以外的省份；同一时间同一地方只能有一个备案。", "The destination must be in another province; no two of your filings may cover the same place at the same time.";
    RuleEmergency => "急诊抢救未备案也视同已备案；住院后、出院结算前补办备案也可直接结算。", "Emergency treatment counts as filed even without a filing; a filing made after admission but before discharge settlement covers that stay.";
    FormHasErrors => "请更正以下问题：", "Please correct the following:";
    Filed => "备案已办理。", "Your filing has been made.";
    RevokedNotice => "备案已撤销。", "The filing has been revoked.";
    Revoke => "撤销备案", "Revoke this filing";
    RevokeReason => "撤销原因", "Reason for revoking";
    RevokeReasonHelp => "可不填。", "Optional.";
    LockedFrom => "长期备案生效后 6 个月内不能撤销。本备案可撤销的最早日期：", "A long-term filing cannot be revoked within 6 months of taking effect. This one can be revoked from:";
    NotYetEffective => "本备案尚未生效，现在可以撤回。", "This filing has not taken effect yet: it can be withdrawn now.";
    RevokedAt => "撤销时间", "Revoked at";
    NoSettlements => "还没有结算记录。", "You have no settlements yet.";
    Settlement => "结算", "Settlement";
    Cancellation => "撤销结算", "Cancellation";
    CancelledBy => "已被撤销：", "Cancelled by:";
    Hospital => "医疗机构", "Hospital";
    SettledAt => "结算时间", "Settled at";
    Item => "项目", "Item";
    AmountYuan => "金额（元）", "Amount (yuan)";
    MedfeeSumamt => "医疗费总额", "Total medical costs";
    FulamtOwnpay => "全自费金额", "Entirely self-paid (outside the catalogue)";
    OverlmtSelfpay => "超限价自费", "Above the price cap";
    PreselfpayAmt => "先行自付", "First self-pay share";
    InscpScpAmt => "符合政策范围金额", "Within the policy's scope";
    ActPayDedc => "起付线", "Deductible";
    HifpPay => "统筹基金支付", "Paid by the pooling fund";
    HifobPay => "大额医疗费用补助", "Paid by the large-amount fund";
    HifmiPay => "大病保险支付", "Paid by serious-illness insurance";
    MafPay => "医疗救助", "Paid by medical assistance";
    FundPaySumamt => "基金支付合计", "Paid by the funds, in all";
    PsnPartAmt => "个人负担合计", "Your share, in all";
    AcctPay => "个人账户支付", "Paid from your personal account";
    PsnCashPay => "现金支付", "Paid in cash";
    FundsPaid => "基金支付", "What the funds paid";
    YouPaid => "个人支付", "What you paid";
    Forbidden => "无权访问", "Not allowed";
    ForbiddenText => "您无权查看此页面。", "You may not see this page.";
    NotFound => "未找到", "Not found";
    NotFoundText => "没有这个页面或记录。", "There is no such page or record.";
    NeedCertificate => "需要证书", "Certificate needed";
    NeedCertificateText => "医保局页面需要经办机构的客户端证书。", "Bureau pages need an operator's client certificate.";
    BadForm => "表单已失效", "The form has expired";
    BadFormText => "请返回重新打开页面后再提交。", "Go back, reload the page and submit again.";
    Unavailable => "服务暂不可用", "Service unavailable";
    UnavailableText => "后台服务暂时无法访问，请稍后再试。", "A service behind this page is not reachable; try again shortly.";
    OnlyCitizens => "此页面仅供参保人使用。", "These pages are for insured people.";
    BureauSignIn => "医保局登录（开发模式）", "Bureau sign-in (development)";
    BureauSignInText => "仅在本机开发模式下提供；正式环境以客户端证书识别经办机构。", "Only on this machine in development; in production the client certificate says who the operator is.";
    SignInAs => "登录身份", "Sign in as";
    NationalOperator => "国家清算经办", "National clearing operator";
    OperatorOf => "经办：", "Operator of ";
    Bureau => "医保局", "bureau";
    ClearingPeriods => "清算期", "Clearing periods";
    Period => "清算期", "Period";
    Dates => "起止日期", "Dates";
    GrossTotal => "应清算总额", "Gross total";
    Settlements => "结算笔数", "Settlements";
    YourConfirmation => "本省确认", "Your confirmation";
    NettingRun => "轧差批次", "Netting run";
    NoPeriods => "还没有清算期。", "There are no clearing periods yet.";
    PrepaidFund => "预付金", "Prepaid fund";
    Deposit => "预付金余额", "Deposit";
    Required => "应备金额", "Required size";
    AlertLine => "预警线", "Alert line";
    FundState => "状态", "State";
    Sufficient => "充足", "sufficient";
    BelowRequired => "低于应备金额", "below the required size";
    BelowAlert => "低于预警线：需补足", "below the alert line: top-up due";
    TopUp => "补足通知", "Top-up instruction";
    DueDate => "到期日", "due";
    NetPositions => "净额头寸", "Net positions";
    Province => "省份", "Province";
    Receivable => "应收", "receivable";
    Payable => "应付", "payable";
    ReceivableCol => "应收（作为就医地）", "Receivable (as treating province)";
    PayableCol => "应付（作为参保地）", "Payable (as home province)";
    Net => "净额", "Net";
    OwnProvince => "本省", "you";
    Efficiency => "轧差效率", "Netting efficiency";
    ByCounterpart => "按对方省份的应收与应付（元）", "Receivables and payables by counterpart province (yuan)";
    NoCounterparts => "本期没有往来。", "No flows this period.";
    NetByProvince => "各省净额（元）", "Net position by province (yuan)";
    NotNetted => "本期尚未轧差。", "This period has not been netted yet.";
    Confirm => "确认本期清算结果", "Confirm this period's result";
    ConfirmText => "确认以上净额头寸（本批次）无误。", "Confirm the net positions above (this netting run) are right.";
    Confirmed => "已确认", "confirmed";
    Pending => "待确认", "pending";
    Withdrawn => "已撤回", "withdrawn";
    Dispute => "提出异议", "Dispute items";
    DisputeText => "有异议的结算将转入下一清算期，本期需重新轧差。", "Disputed settlements move to the next period, and this period is netted again.";
    SetlIds => "结算编号", "Settlement ids";
    SetlIdsHelp => "每行一个，或以逗号分隔。", "One per line, or separated by commas.";
    Reason => "原因", "Reason";
    ConfirmedNotice => "已确认。", "Confirmed.";
    DisputedNotice => "异议已登记，有关结算转入下一期。", "The dispute is recorded; its settlements move to the next period.";
    Instructions => "清算拨付指令", "Settlement instructions";
    Payer => "付款方", "Payer";
    Payee => "收款方", "Payee";
    Amount => "金额", "Amount";
    FromPrepaid => "其中预付金", "of which from the prepaid fund";
    Confirmations => "各省确认情况", "Confirmations";
    Actions => "操作", "Actions";
    Close => "关账", "Close";
    NetAction => "轧差", "Net";
    SettleAction => "结算", "Settle";
    ActionDone => "已完成。", "Done.";
    AllFunds => "各省预付金", "Prepaid funds of every province";
    National => "全国清算", "National clearing";
    Provinces => "省份", "Provinces";
    PeriodStatus => "状态", "Status";
    StOpen => "开放", "open";
    StClosed => "已关账", "closed";
    StNetted => "已轧差", "netted";
    StConfirmed => "已确认", "confirmed";
    StSettled => "已结算", "settled";
    Back => "返回", "Back";
    Policies => "待遇政策", "Benefit policies";
    PoliciesText => "本省各统筹区的待遇政策：版本、草稿、影响测算与发布。", "Your province's regions' benefit policies: versions, drafts, previews, publication.";
    PoliciesNationalText => "全国默认政策与各省底线：版本、草稿、影响测算与发布。", "The national default and the provinces' floors: versions, drafts, previews, publication.";
    NoPolicies => "还没有政策文件。", "There are no policy documents yet.";
    NewDraft => "新建草稿", "New draft";
    PolicyId => "编号", "Id";
    PolicyRegion => "统筹区", "Region";
    NationalDefault => "全国默认", "National default";
    Insutype => "险种", "Insurance type";
    PolicyKind => "类型", "Kind";
    KindPolicy => "政策", "policy";
    KindFloors => "底线", "floors";
    PolicyLabel => "版本", "Version";
    PolicyTitle => "标题", "Title";
    StDraft => "草稿", "draft";
    StPublished => "已发布", "published";
    InForce => "生效期", "In force";
    PublishedAt => "发布时间", "Published at";
    PublishedBy => "发布人", "Published by";
    DraftedAt => "起草时间", "Drafted at";
    DraftedBy => "起草人", "Drafted by";
    Publication => "发布顺序", "Publication order";
    Sha256 => "SHA-256", "SHA-256";
    PolicyDocument => "政策文件（JSON）", "Document (JSON)";
    PolicyDocumentHelp => "JSON 格式：金额以分为单位，比例为小数字符串（如 \"0.90\"）。", "JSON: amounts in fen, ratios as decimal strings (\"0.90\").";
    ValidateAction => "校验", "Validate";
    SaveDraft => "保存草稿", "Save draft";
    ValidNotice => "校验通过。文件编号将为", "The document is valid. Its id would be";
    DocumentLines => "按行查看文件及问题", "The document by line, with its problems";
    NotJson => "不是有效的 JSON：", "This is not JSON:";
    NotAnObject => "政策文件须为 JSON 对象（{…}）。", "A policy document is a JSON object ({…}).";
    StartFrom => "以此为底稿新建草稿", "Start a new draft from this";
    PublishAction => "发布", "Publish";
    PublishText => "发布后，自生效日起该统筹区参保人的结算按此版本办理；已发布的文件不能修改，只能以新版本替代。", "Once published, settlements of the region's insured use this version from its begin date; a published document never changes, a new version replaces it.";
    PublishedNotice => "已发布。", "Published.";
    DraftSavedNotice => "草稿已保存。", "The draft is saved.";
    PreviewAction => "影响测算", "Preview";
    PreviewText => "将该月该统筹区参保人的结算按此草稿重新计算，并与原结算比较（不写入任何数据）。", "Settles the month's settlements of the region's insured again under this draft and compares them with what they were (writes nothing).";
    PreviewTitle => "影响测算", "Preview";
    Month => "月份", "Month";
    MonthHelp => "格式 yyyy-MM，如 2026-11。", "yyyy-MM, e.g. 2026-11.";
    Fund => "基金", "Fund";
    BeforeCol => "现行", "Before";
    AfterCol => "按草稿", "After";
    ChangeCol => "变化", "Change";
    ByFund => "按基金", "By fund";
    ByTreating => "按就医地省份（基金支付合计）", "By treating province (paid by the funds)";
    ChangeByTreating => "各就医地省份基金支付变化（元）", "Change by treating province (yuan)";
    LargestChanges => "变化最大的参保人（基金支付合计）", "The largest changes per person (paid by the funds)";
    Persons => "参保人数", "Persons";
    PersonsAffected => "受影响人数", "Persons affected";
    Replayed => "重算笔数（含当年此前结算）", "Settled again (with the year's earlier ones)";
    PsnNo => "人员编号", "Person number";
    NoChanges => "没有变化。", "No changes.";
    DownloadCsv => "下载 CSV", "Download CSV";
}

/// What a page knows of its request: language, path, and whether it is development.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub lang: Lang,
    /// The path without the query, for the language switch.
    pub path: String,
    /// Plain HTTP on loopback (no certificate layer).
    pub development: bool,
    /// `?lang=` was given: remember it in a cookie.
    remember: bool,
}

impl Ctx {
    pub fn t(&self, text: T) -> &'static str {
        text.get(self.lang)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let asked = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == "lang")
            .map(|(_, value)| value);
        let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let cookie = medclear_gateway::session::cookie(&parts.headers, LANG_COOKIE);
        Ok(Self {
            lang: Lang::choose(asked, cookie, accept),
            path: parts.uri.path().to_owned(),
            development: parts.extensions.get::<medclear_gateway::access::Principal>().is_none(),
            remember: asked.and_then(Lang::parse).is_some(),
        })
    }
}

/// The style sheet, served at [`CSS_PATH`]: readable on a phone and a desktop, focus visible.
pub const CSS: &str = r#"
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#f6f7f9}
body{margin:0}
a{color:#0b57d0}
a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #f9a825;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}
.skip:focus{left:.5rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.site{background:#0b3d91;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
header.site a{color:#fff}
header.site .brand{font-weight:bold;text-decoration:none;margin-right:auto}
header.site nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
header.site form{margin:0}
header.site button{background:none;border:1px solid #fff;color:#fff;padding:.15rem .6rem;border-radius:4px;font:inherit;cursor:pointer}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.card{background:#fff;border:1px solid #d8dbe0;border-radius:6px;padding:1rem;margin:0 0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
.notice{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.6rem 1rem;margin:0 0 1rem}
.dev{background:#fff8e1;border-left:4px solid #b26a00;padding:.6rem 1rem;margin:0 0 1rem}
.errors{background:#fdecea;border-left:4px solid #c62828;padding:.6rem 1rem;margin:0 0 1rem}
.error{color:#b71c1c;font-weight:bold;margin:.25rem 0 0}
.help{color:#555;font-size:.9rem;margin:.25rem 0 0}
.field{margin:0 0 1rem}
label,legend{display:block;font-weight:bold;margin:0 0 .25rem}
input[type=text],input[type=date],select,textarea{width:100%;max-width:28rem;padding:.5rem;font:inherit;border:1px solid #8a8f98;border-radius:4px;background:#fff}
[aria-invalid=true]{border-color:#c62828;border-width:2px}
button,.button{display:inline-block;background:#0b57d0;color:#fff;border:0;border-radius:4px;padding:.55rem 1.1rem;font:inherit;cursor:pointer;text-decoration:none}
button.secondary{background:#fff;color:#0b57d0;border:1px solid #0b57d0}
button.danger{background:#c62828}
.table-wrap{overflow-x:auto;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d8dbe0;padding:.4rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eef1f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.own th,tr.own td{background:#fffde7;font-weight:bold}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dl.facts dt{font-weight:bold}
dl.facts dd{margin:0}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;background:#eef1f5;font-size:.85rem}
.chart{max-width:100%;height:auto;background:#fff;border:1px solid #d8dbe0;border-radius:6px}
.inline{display:inline}
figure{margin:0 0 1rem}
.id{font-size:.85em;overflow-wrap:anywhere}
.editor{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem;align-items:start}
textarea.doc,pre.doc{max-width:none;min-height:32rem;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;white-space:pre;overflow:auto}
pre.doc{min-height:0;max-height:40rem;background:#fff;border:1px solid #d8dbe0;border-radius:6px;padding:.5rem}
ol.doc-lines{list-style:none;margin:0;padding:.5rem;background:#fff;border:1px solid #d8dbe0;border-radius:6px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;max-height:40rem;overflow:auto}
ol.doc-lines li{white-space:pre}
ol.doc-lines .ln{display:inline-block;min-width:4ch;padding-right:1ch;color:#555;text-align:right}
ol.doc-lines li.bad{background:#fdecea}
ol.doc-lines li.bad .error{white-space:normal;margin:0 0 .25rem 5ch}
footer.site{max-width:60rem;margin:0 auto;padding:1rem;color:#555;font-size:.85rem}
@media (max-width:40rem){main{padding:.6rem}h1{font-size:1.3rem}dl.facts{grid-template-columns:1fr}dl.facts dd{margin:0 0 .4rem}}
"#;

/// Where the style sheet is served.
pub const CSS_PATH: &str = "/assets/medclear.css";

/// A link of the page's navigation.
pub type NavLink<'a> = (&'a str, &'a str);

/// The whole document: `lang`, viewport, the style sheet, a skip link, the site header with
/// `nav` (links) and `after_nav` (e.g. a sign-out form, already HTML), the page's `main`.
pub fn document(
    ctx: &Ctx,
    title: &str,
    nav: &[NavLink<'_>],
    after_nav: &str,
    main: &str,
) -> String {
    let other = ctx.lang.other();
    let mut links = String::new();
    for (href, label) in nav {
        let current = if *href == ctx.path { " aria-current=\"page\"" } else { "" };
        links.push_str(&format!("<li><a href=\"{}\"{current}>{}</a></li>", esc(href), esc(label)));
    }
    links.push_str(&format!(
        "<li><a href=\"{}?lang={}\" lang=\"{}\" hreflang=\"{}\">{}</a></li>",
        esc(&ctx.path),
        if other == Lang::En { "en" } else { "zh" },
        other.code(),
        other.code(),
        ctx.t(T::OtherLanguage)
    ));
    let dev = if ctx.development {
        format!("<p>{}</p>", ctx.t(T::DevelopmentMode))
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {site}</title><link rel=\"stylesheet\" href=\"{CSS_PATH}\"></head>\
         <body><a class=\"skip\" href=\"#main\">{skip}</a>\
         <header class=\"site\"><a class=\"brand\" href=\"/\">{site}</a>\
         <nav aria-label=\"{site}\"><ul>{links}</ul></nav>{after_nav}</header>\
         <main id=\"main\" tabindex=\"-1\">{main}</main>\
         <footer class=\"site\">medclear{dev}</footer></body></html>",
        lang = ctx.lang.code(),
        title = esc(title),
        site = ctx.t(T::Site),
        skip = ctx.t(T::SkipToContent),
    )
}

fn page_headers(headers: &mut HeaderMap) {
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // `no-referrer` would make the browser send `Origin: null` with the pages' own forms.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An HTML answer with the pages' headers (and the language cookie when `?lang` chose it).
pub fn html(ctx: &Ctx, status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    page_headers(response.headers_mut());
    if ctx.remember {
        let lang = if ctx.lang == Lang::En { "en" } else { "zh" };
        let cookie = format!("{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// 303 See Other to `location` (redirect after post), setting `cookies`.
pub fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page that only says why not: 401, 403, 404, 503…
pub fn message_page(ctx: &Ctx, status: StatusCode, heading: T, text: T) -> Response {
    let main = format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/\">{}</a></p>",
        ctx.t(heading),
        ctx.t(text),
        ctx.t(T::Home)
    );
    html(ctx, status, document(ctx, ctx.t(heading), &[], "", &main))
}

/// The page for a failed call to a service: its status, in words.
pub fn upstream_failure(ctx: &Ctx, status: &tonic::Status) -> Response {
    match status.code() {
        tonic::Code::NotFound => {
            message_page(ctx, StatusCode::NOT_FOUND, T::NotFound, T::NotFoundText)
        }
        tonic::Code::PermissionDenied => {
            message_page(ctx, StatusCode::FORBIDDEN, T::Forbidden, T::ForbiddenText)
        }
        code => {
            tracing::warn!(?code, message = status.message(), "a page's service call failed");
            message_page(ctx, StatusCode::SERVICE_UNAVAILABLE, T::Unavailable, T::UnavailableText)
        }
    }
}

/// The style sheet.
pub async fn stylesheet() -> Response {
    let mut response = CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Whether a POST comes from this site: a browser's `Sec-Fetch-Site` must say `same-origin`;
/// without it, an `Origin` header, when there is one, must name the `Host` it was sent to.
/// (A client that sends neither is not a browser a forged form could drive.)
pub fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site == "same-origin";
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_some_and(|(_, authority)| authority == host)
        }
        (Some(_), None) => false,
    }
}

/// A hidden CSRF field.
pub fn csrf_field(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(token))
}

/// A labelled form field: `control` is the input (already HTML, with `id`), `help` and `error`
/// are shown under it and tied to it with `aria-describedby` by the caller (see [`described`]).
pub fn field(id: &str, label: &str, control: &str, help: &str, error: Option<&str>) -> String {
    let help = if help.is_empty() {
        String::new()
    } else {
        format!("<p class=\"help\" id=\"{id}-help\">{}</p>", esc(help))
    };
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" id=\"{id}-error\">{}</p>", esc(e))
    });
    format!(
        "<div class=\"field\"><label for=\"{id}\">{}</label>{control}{help}{error}</div>",
        esc(label)
    )
}

/// The `aria-describedby` (and `aria-invalid`) attributes of a field's control.
pub fn described(id: &str, help: bool, error: bool) -> String {
    let mut ids = Vec::new();
    if help {
        ids.push(format!("{id}-help"));
    }
    if error {
        ids.push(format!("{id}-error"));
    }
    let mut attributes = String::new();
    if !ids.is_empty() {
        attributes.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
    }
    if error {
        attributes.push_str(" aria-invalid=\"true\"");
    }
    attributes
}

/// A list of errors at the top of a form, each linking to its field (or plain).
pub fn error_summary(ctx: &Ctx, errors: &[(Option<&str>, String)]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let items: String = errors
        .iter()
        .map(|(field, message)| match field {
            Some(id) => format!("<li><a href=\"#{}\">{}</a></li>", esc(id), esc(message)),
            None => format!("<li>{}</li>", esc(message)),
        })
        .collect();
    format!(
        "<div class=\"errors\" role=\"alert\" id=\"errors\"><p><strong>{}</strong></p><ul>{items}</ul></div>",
        ctx.t(T::FormHasErrors)
    )
}

/// Fen as yuan, e.g. `¥1234.56`, `-¥440.00`.
pub fn money(fen: i64) -> String {
    let yuan = crate::svg::yuan(fen);
    match yuan.strip_prefix('-') {
        Some(amount) => format!("-¥{amount}"),
        None => format!("¥{yuan}"),
    }
}

/// A context for unit tests of pages.
#[cfg(test)]
pub(crate) fn tests_ctx(lang: Lang) -> Ctx {
    Ctx { lang, path: "/".into(), development: true, remember: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_asked_for_remembered_or_accepted() {
        assert_eq!(Lang::choose(Some("en"), Some("zh"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::choose(None, Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::choose(None, None, Some("fr-FR,en-US;q=0.8")), Lang::En);
        assert_eq!(Lang::choose(Some("xx"), None, Some("de")), Lang::Zh);
        assert_eq!(Lang::choose(None, None, None), Lang::Zh);
    }

    #[test]
    fn posts_must_come_from_this_site() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers), "no Origin: a non-browser client");
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers), "the browser says where the form was");
        headers.remove(header::ORIGIN);
        for site in ["cross-site", "same-site", "none"] {
            headers.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(!same_origin(&headers), "{site}");
        }
    }

    #[test]
    fn the_document_is_escaped_and_says_its_language() {
        let ctx = Ctx { lang: Lang::En, path: "/x\"<".into(), development: true, remember: false };
        let page = document(&ctx, "<b>title</b>", &[("/a", "A&B")], "", "<p>main</p>");
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert!(page.contains("<title>&lt;b&gt;title&lt;/b&gt; · "));
        assert!(page.contains(">A&amp;B</a>"));
        assert!(page.contains("href=\"/x&quot;&lt;?lang=zh\" lang=\"zh-CN\""));
        assert!(page.contains("name=\"viewport\""));
        assert!(!page.contains("http://") && !page.contains("https://"), "nothing external");
        assert_eq!(T::Site.get(Lang::Zh), "跨省异地就医直接结算");
        assert_eq!((money(-44_000), money(5)), ("-¥440.00".to_owned(), "¥0.05".to_owned()));
    }
}
