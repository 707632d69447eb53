//! Paging of the partner list endpoints, as the real API does it: `pageToken` is a page number that
//! defaults to `"1"`, `pageSize` is optional (everything at once without it), and `nextPageToken` is null
//! on the last page.

use latchkey::model::MAX_PAGE_SIZE;

use super::error::{AppError, AppResult};
use super::extract::Params;

/// A requested page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Items per page; none is everything.
    pub size: Option<usize>,
    /// 1-based page number.
    pub number: usize,
}

/// Reads `pageSize` and `pageToken` with errors that say what a valid value looks like.
pub fn parse(params: &Params) -> AppResult<Page> {
    let size = match params.get("pageSize") {
        None => None,
        Some(text) => match text.parse::<u32>() {
            Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => Some(size as usize),
            _ => {
                return Err(AppError::BadRequest(format!(
                    "pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, got {text:?}"
                )));
            }
        },
    };
    let number = match params.get("pageToken") {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(number) if number >= 1 => number,
            _ => {
                return Err(AppError::BadRequest(format!(
                    "pageToken must be a nextPageToken from an earlier page (\"1\", \"2\", …), got {text:?}"
                )));
            }
        },
    };
    Ok(Page { size, number })
}

/// Cuts one page out of `items`; returns it with the next page's token.
pub fn cut<T>(items: Vec<T>, page: Page) -> (Vec<T>, Option<String>) {
    let Some(size) = page.size else { return (items, None) };
    let total = items.len();
    let start = size.saturating_mul(page.number - 1);
    let page_items: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let next = (start.saturating_add(size) < total).then(|| (page.number + 1).to_string());
    (page_items, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once_and_end_with_a_null_token() {
        let items: Vec<u32> = (0..5).collect();
        assert_eq!(cut(items.clone(), Page { size: Some(2), number: 1 }), (vec![0, 1], Some("2".into())));
        assert_eq!(cut(items.clone(), Page { size: Some(2), number: 3 }), (vec![4], None));
        assert_eq!(cut(items.clone(), Page { size: Some(5), number: 1 }), (items.clone(), None));
        assert_eq!(cut(items.clone(), Page { size: Some(2), number: 9 }), (vec![], None));
        assert_eq!(cut(items.clone(), Page { size: None, number: 1 }), (items, None));
    }
}
