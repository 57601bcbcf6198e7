//! The demo's HTML report: one self-contained page (no script, no request leaving the file)
//! with the period's net positions, the bilateral matrix as a heat map, the prepaid fund
//! levels and the latency histogram of the simulated traffic, all drawn as SVG with integer
//! arithmetic (amounts are fen; pixels are whole).

use std::{collections::BTreeMap, fmt::Write, time::Duration};

use medclear_common::money::fen_to_yuan;
use medclear_pages::svg::{self, Level};
use medclear_proto::clearing::v1 as pb;

use crate::{
    measure::{ms, per_second, percentile},
    simulate::Outcome,
};

/// Everything the report shows.
#[derive(Debug)]
pub struct Report<'a> {
    pub period: &'a pb::Period,
    pub netting: &'a pb::NettingResult,
    pub funds: &'a [pb::PrepaidFund],
    pub audit: &'a pb::AuditPeriodResponse,
    /// Province code → (Chinese name, English name).
    pub regions: &'a BTreeMap<String, (String, String)>,
    pub traffic: &'a Outcome,
    pub machine: String,
    pub generated_at: String,
    /// Where the data lives, for people.
    pub database: String,
    pub took: Duration,
}

/// Upper bounds (µs) of the latency histogram's buckets; the last catches the rest.
const LATENCY_BOUNDS_US: [u64; 12] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    u64::MAX,
];

const STYLE: &str = "body{font:15px/1.5 system-ui,-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;\
margin:0 auto;max-width:1100px;padding:1rem;color:#1b1f24}h1{font-size:1.5rem}h2{font-size:1.2rem;\
margin-top:2rem;border-bottom:1px solid #d0d7de}table{border-collapse:collapse;font-variant-numeric:\
tabular-nums}th,td{padding:.2rem .6rem;border-bottom:1px solid #eaeef2;text-align:right}th:first-child,\
td:first-child,td.l{text-align:left}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\
dt{color:#57606a}dd{margin:0}svg{max-width:100%;height:auto}.scroll{overflow-x:auto}\
.pos{color:#1a7f37}.neg{color:#cf222e}";

/// The report as one HTML page.
pub fn html(r: &Report<'_>) -> String {
    let mut out = String::new();
    let period = &r.period.period_id;
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>medclear 清算报告 / clearing report {}</title><style>{STYLE}</style></head><body>\n",
        svg::escape(period)
    );
    let _ = writeln!(
        out,
        "<h1>medclear 清算报告 · clearing report, period {}</h1>",
        svg::escape(period)
    );
    summary(&mut out, r);
    positions(&mut out, r);
    matrix(&mut out, r);
    funds(&mut out, r);
    latency(&mut out, r);
    instructions(&mut out, r);
    out.push_str("</body></html>\n");
    out
}

fn name(r: &Report<'_>, province: &str) -> String {
    r.regions.get(province).map_or_else(|| province.to_owned(), |(zh, en)| format!("{zh} {en}"))
}

fn summary(out: &mut String, r: &Report<'_>) {
    let t = &r.traffic;
    let calls: u64 = t.tally.outcomes.values().map(|(ok, refused)| ok + refused).sum();
    let refused: u64 = t.tally.outcomes.values().map(|(_, refused)| refused).sum();
    let rows = [
        (
            "period 清算期",
            format!(
                "{} ({} – {}), settled",
                r.period.period_id, r.period.begin_date, r.period.end_date
            ),
        ),
        ("settlements 结算", r.period.settlement_count.to_string()),
        ("cancellations and reversals 冲销", r.period.reversal_count.to_string()),
        ("gross 清算总额", format!("{} yuan", fen_to_yuan(r.netting.gross_total_fen))),
        ("Σ|net| 净额绝对值之和", format!("{} yuan", fen_to_yuan(r.netting.sum_abs_net_fen))),
        ("netting efficiency 轧差效率", r.netting.netting_efficiency.clone()),
        (
            "audit 审计",
            format!(
                "{} items in {} cells recomputed: {}",
                r.audit.items,
                r.audit.cells,
                if r.audit.consistent { "consistent" } else { "INCONSISTENT" }
            ),
        ),
        (
            "simulated traffic 模拟业务",
            format!(
                "{} visits, {calls} national-interface calls ({refused} refused, as planned) in {} ms: \
                 {} calls/s, {} settlements/s",
                t.visits,
                t.elapsed.as_millis(),
                per_second(calls, t.elapsed),
                per_second(t.tally.settlements, t.elapsed)
            ),
        ),
        ("database 数据库", r.database.clone()),
        ("machine 机器", r.machine.clone()),
        (
            "generated 生成于",
            format!("{} (the whole demo took {} s)", r.generated_at, r.took.as_secs()),
        ),
    ];
    out.push_str("<dl>\n");
    for (term, value) in rows {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", svg::escape(term), svg::escape(&value));
    }
    out.push_str("</dl>\n");
}

fn positions(out: &mut String, r: &Report<'_>) {
    out.push_str(
        "<h2>净头寸 Net positions</h2>\n<p>Receivable (owed to the province as treating \
                  province) minus payable (owed by it as home province); they sum to 0.</p>\n",
    );
    // The Chinese name alone: the chart's label column is narrow.
    let zh = |province: &str| r.regions.get(province).map(|(zh, _)| zh.clone());
    let bars: Vec<(String, i64)> = r
        .netting
        .positions
        .iter()
        .map(|p| (zh(&p.province_admdvs).unwrap_or_else(|| p.province_admdvs.clone()), p.net_fen))
        .collect();
    out.push_str(&svg::signed_bars("Net position by province, yuan", &bars, svg::yuan, "none"));
    out.push_str(
        "<div class=\"scroll\"><table><caption>Net positions (yuan)</caption><thead><tr>\
         <th scope=\"col\">province 省份</th><th scope=\"col\">receivable 应收</th>\
         <th scope=\"col\">payable 应付</th><th scope=\"col\">net 净额</th></tr></thead><tbody>\n",
    );
    let mut sum = 0i64;
    for p in &r.netting.positions {
        sum += p.net_fen;
        let class = if p.net_fen < 0 { "neg" } else { "pos" };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{} {}</th><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            svg::escape(&p.province_admdvs),
            svg::escape(&name(r, &p.province_admdvs)),
            fen_to_yuan(p.receivable_fen),
            fen_to_yuan(p.payable_fen),
            fen_to_yuan(p.net_fen)
        );
    }
    let _ = writeln!(
        out,
        "</tbody><tfoot><tr><th scope=\"row\">Σ</th><td>{}</td><td>{}</td><td>{}</td></tr></tfoot>\
         </table></div>",
        fen_to_yuan(r.netting.positions.iter().map(|p| p.receivable_fen).sum()),
        fen_to_yuan(r.netting.positions.iter().map(|p| p.payable_fen).sum()),
        fen_to_yuan(sum)
    );
}

fn matrix(out: &mut String, r: &Report<'_>) {
    out.push_str(
        "<h2>双边矩阵 Bilateral matrix</h2>\n<p>Rows: home province (owes); columns: treating \
         province (is owed). Darker cells carry more; hover a cell for its amount.</p>\n",
    );
    let mut provinces: Vec<String> = r.regions.keys().cloned().collect();
    for cell in &r.netting.matrix {
        for p in [&cell.insuplc_admdvs, &cell.mdtrtarea_admvs] {
            if !provinces.contains(p) {
                provinces.push(p.clone());
            }
        }
    }
    provinces.sort();
    let cells: BTreeMap<(&str, &str), &pb::BilateralCell> = r
        .netting
        .matrix
        .iter()
        .map(|c| ((c.insuplc_admdvs.as_str(), c.mdtrtarea_admvs.as_str()), c))
        .collect();
    let labels: Vec<String> =
        provinces.iter().map(|p| p.get(..2).unwrap_or(p).to_owned()).collect();
    let heat = svg::heat_map("Bilateral obligations, home → treating", &labels, |row, col| {
        let (home, treating) = (provinces.get(row)?, provinces.get(col)?);
        let cell = cells.get(&(home.as_str(), treating.as_str()))?;
        Some((
            cell.gross_fen,
            format!(
                "{} → {}: {} yuan, {} settlements, {} reversals",
                name(r, home),
                name(r, treating),
                fen_to_yuan(cell.gross_fen),
                cell.settlement_count,
                cell.reversal_count
            ),
        ))
    });
    let _ = writeln!(out, "<div class=\"scroll\">{heat}</div>");
}

fn funds(out: &mut String, r: &Report<'_>) {
    out.push_str(
        "<h2>预付金 Prepaid funds</h2>\n<p>Each bar is the deposit after settlement; the dark \
         mark is the required size (two months of outgoing), the red mark the alert line (70 % \
         of it). A fund below the alert line has a top-up instruction.</p>\n",
    );
    let levels: Vec<Level> = r
        .funds
        .iter()
        .map(|f| Level {
            label: f.province_admdvs.get(..2).unwrap_or(&f.province_admdvs).to_owned(),
            value: f.deposit_fen,
            target: f.required_fen,
            alert: f.alert_line_fen,
            title: format!(
                "{}: deposit {} yuan, required {}, alert line {}",
                name(r, &f.province_admdvs),
                fen_to_yuan(f.deposit_fen),
                fen_to_yuan(f.required_fen),
                fen_to_yuan(f.alert_line_fen)
            ),
        })
        .collect();
    out.push_str(&svg::levels("Prepaid fund levels, yuan", &levels));
    out.push_str(
        "<div class=\"scroll\"><table><caption>Prepaid funds (yuan)</caption><thead><tr>\
         <th scope=\"col\">province</th><th scope=\"col\">deposit</th><th scope=\"col\">required</th>\
         <th scope=\"col\">alert line</th><th scope=\"col\">state</th><th scope=\"col\">top-up</th>\
         </tr></thead><tbody>\n",
    );
    for f in r.funds {
        let state = crate::clearing_cli::fund_state(f.state);
        let topup = f.topup.as_ref().map_or(String::new(), |t| fen_to_yuan(t.amount_fen));
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{state}</td>\
             <td>{topup}</td></tr>",
            svg::escape(&name(r, &f.province_admdvs)),
            fen_to_yuan(f.deposit_fen),
            fen_to_yuan(f.required_fen),
            fen_to_yuan(f.alert_line_fen)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

/// Counts of `latencies` (µs) per bucket of [`LATENCY_BOUNDS_US`].
fn histogram(latencies: impl Iterator<Item = u64>) -> Vec<(String, i64)> {
    let mut counts = [0i64; LATENCY_BOUNDS_US.len()];
    for micros in latencies {
        let bucket = LATENCY_BOUNDS_US.iter().position(|bound| micros <= *bound).unwrap_or(0);
        if let Some(count) = counts.get_mut(bucket) {
            *count += 1;
        }
    }
    let mut lower = 0;
    LATENCY_BOUNDS_US
        .iter()
        .zip(counts)
        .map(|(bound, count)| {
            let label = if *bound == u64::MAX {
                format!(">{}", lower / 1000)
            } else {
                format!("{}–{}", lower / 1000, bound / 1000)
            };
            lower = *bound;
            (label, count)
        })
        .collect()
}

fn latency(out: &mut String, r: &Report<'_>) {
    let tally = &r.traffic.tally;
    out.push_str(
        "<h2>延迟 Latency</h2>\n<p>Every national-interface call of the simulated hospitals, \
         answered or refused, by milliseconds.</p>\n",
    );
    let buckets = histogram(tally.latency.values().flatten().copied());
    out.push_str(&svg::histogram("Calls by latency, ms", &buckets));
    out.push_str(
        "<div class=\"scroll\"><table><caption>By transaction (ms)</caption><thead><tr>\
         <th scope=\"col\">infno</th><th scope=\"col\">calls</th><th scope=\"col\">refused</th>\
         <th scope=\"col\">p50</th><th scope=\"col\">p95</th><th scope=\"col\">p99</th></tr></thead>\
         <tbody>\n",
    );
    for (infno, latencies) in &tally.latency {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        let refused = tally.outcomes.get(infno).map_or(0, |(_, refused)| *refused);
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{refused}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            svg::escape(infno),
            sorted.len(),
            ms(percentile(&sorted, 50)),
            ms(percentile(&sorted, 95)),
            ms(percentile(&sorted, 99))
        );
    }
    out.push_str("</tbody></table></div>\n");
    if !tally.refusals.is_empty() {
        out.push_str("<p>Refusals by reason (the simulation sends some on purpose): ");
        let reasons: Vec<String> = tally
            .refusals
            .iter()
            .map(|(reason, n)| format!("{} {n}", svg::escape(reason)))
            .collect();
        out.push_str(&reasons.join(", "));
        out.push_str("</p>\n");
    }
}

fn instructions(out: &mut String, r: &Report<'_>) {
    out.push_str(
        "<h2>结算指令 Settlement instructions</h2>\n<p>Through the national clearing account \
         000000: net debtors pay in (first from their prepaid funds), net creditors are paid out.\
         </p>\n<div class=\"scroll\"><table><thead><tr><th scope=\"col\">instruction</th>\
         <th scope=\"col\">payer</th><th scope=\"col\">payee</th><th scope=\"col\">amount</th>\
         <th scope=\"col\">from prepaid</th></tr></thead><tbody>\n",
    );
    for i in &r.netting.instructions {
        let _ = writeln!(
            out,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td>\
             <td>{}</td></tr>",
            svg::escape(&i.instruction_id),
            svg::escape(&name(r, &i.payer_admdvs)),
            svg::escape(&name(r, &i.payee_admdvs)),
            fen_to_yuan(i.amount_fen),
            fen_to_yuan(i.from_prepaid_fen)
        );
    }
    out.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_every_call_once() {
        let buckets = histogram([0, 1_000, 1_001, 49_999, 3_000_000].into_iter());
        assert_eq!(buckets.len(), LATENCY_BOUNDS_US.len());
        assert_eq!(buckets.iter().map(|(_, n)| n).sum::<i64>(), 5);
        assert_eq!(buckets[0], ("0–1".to_owned(), 2));
        assert_eq!(buckets[1], ("1–2".to_owned(), 1));
        assert_eq!(buckets[5], ("20–50".to_owned(), 1));
        assert_eq!(buckets[11], (">2000".to_owned(), 1));
    }
}
