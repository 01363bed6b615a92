//! A scraper: 20 simulated pages fetched on 8 workers, each reported the
//! moment it completes (`as_completed`) with a `[k/20] page p: n items`
//! line, failures collected without stopping the rest, and a summary.
//!
//! A page is a sleep (the network) and then a little parsing (counting
//! items in generated HTML). Three pages fail with their own error. When
//! stdout is a terminal the progress is an `indicatif` bar; otherwise (a
//! pipe, a CI log) it is one plain line per page.
//!
//! Run: `cargo run --release --example scrape`

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use stealpool::{as_completed, ThreadPool};

const PAGES: usize = 20;
const WORKERS: usize = 8;

/// A scraped page.
struct Page {
    id: usize,
    items: usize,
}

/// A page that could not be scraped.
struct ScrapeError {
    id: usize,
    reason: String,
}

/// The latency of page `id`: 40 to 240 ms, uneven.
fn latency(id: usize) -> Duration {
    Duration::from_millis(40 + (id as u64 * 53) % 200)
}

/// Fetches page `id` (a sleep) and counts the items on it.
fn scrape(id: usize) -> Result<Page, ScrapeError> {
    std::thread::sleep(latency(id));
    let fail = |reason: &str| ScrapeError {
        id,
        reason: reason.to_owned(),
    };
    match id {
        4 => return Err(fail("HTTP 503 service unavailable")),
        11 => return Err(fail("connection reset by peer")),
        17 => return Err(fail("HTTP 404 not found")),
        _ => {}
    }
    let html: String = (0..3 + (id * 7) % 17)
        .map(|i| format!("<div class=\"card\"><li>item {id}-{i}</li></div>\n"))
        .collect();
    let items = html.matches("<li>").count();
    Ok(Page { id, items })
}

/// Where progress goes: a bar on a terminal, plain lines elsewhere.
enum Progress {
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    fn new(total: usize) -> Result<Progress, Box<dyn std::error::Error>> {
        if !std::io::stdout().is_terminal() {
            return Ok(Progress::Lines);
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stdout());
        bar.set_style(ProgressStyle::with_template(
            "[{pos:>2}/{len}] {bar:30} {elapsed} {msg}",
        )?);
        Ok(Progress::Bar(bar))
    }

    /// Reports the `k`-th completion.
    fn completed(&self, k: usize, total: usize, line: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(k as u64);
                bar.set_message(line.to_owned());
            }
            Progress::Lines => println!("[{k:>2}/{total}] {line}"),
        }
    }

    /// A line that stays visible above the bar.
    fn note(&self, line: &str) {
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Lines => {}
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
            println!(); // the bar leaves the cursor at the end of its line
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(WORKERS)?;
    let start = Instant::now();
    let handles = (0..PAGES)
        .map(|id| pool.submit(move || scrape(id)))
        .collect::<Result<Vec<_>, _>>()?;

    let progress = Progress::new(PAGES)?;
    let mut completed = as_completed(handles);
    let total = completed.total();
    let (mut pages, mut items, mut errors) = (Vec::new(), 0, Vec::new());
    while let Some(handle) = completed.next() {
        let k = total - completed.remaining();
        match handle.result()? {
            Ok(page) => {
                progress.completed(k, total, &format!("page {}: {} items", page.id, page.items));
                items += page.items;
                pages.push(page.id);
            }
            Err(e) => {
                let line = format!("page {}: error: {}", e.id, e.reason);
                progress.completed(k, total, &line);
                progress.note(&line);
                errors.push(e);
            }
        }
    }
    progress.finish();

    let elapsed = start.elapsed();
    let sequential: Duration = (0..PAGES).map(latency).sum();
    println!(
        "scraped {} of {PAGES} pages, {items} items, in {} ms on {WORKERS} workers (one page at a time: {} ms)",
        pages.len(),
        elapsed.as_millis(),
        sequential.as_millis()
    );
    errors.sort_by_key(|e| e.id);
    println!("{} failed:", errors.len());
    for e in &errors {
        println!("  page {}: {}", e.id, e.reason);
    }
    assert_eq!(pages.len() + errors.len(), PAGES);
    Ok(())
}
