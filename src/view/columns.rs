//! Table column widths from their content.
//!
//! Every column is as wide as its widest cell (header included). When the row does not fit,
//! the longest column is truncated first: the widest columns are lowered together to the
//! highest level at which the row fits, and the spare columns that leaves go first to the
//! columns nearest to whole, so a cell one column short is not cut. Names (namespaces, pods,
//! containers, nodes, workloads) give way first, down to [`NAME_FLOOR`] columns: a name is
//! recognised by its start, while a REASON or STATE cut short (`CrashLoopBa…`) says little.
//! Only when names are at their floor does every column give way, longest first again.

/// Names shrink down to this many columns before any other column shrinks.
pub const NAME_FLOOR: usize = 12;

/// Widths for columns whose widest cells are `natural`, in `avail` columns of cell space
/// (borders and gaps already taken off); `names[i]` says column `i` holds names.
pub fn fit(natural: &[usize], names: &[bool], avail: usize) -> Vec<usize> {
    let mut widths = natural.to_vec();
    shrink(
        &mut widths,
        avail,
        |i| names.get(i).copied().unwrap_or(false),
        NAME_FLOOR,
    );
    shrink(&mut widths, avail, |_| true, 1);
    widths
}

/// Lower the widest `eligible` columns to one level, the highest (not below `floor`) at which
/// the row fits in `avail`, then hand the spare back to the cut columns nearest to whole.
fn shrink(widths: &mut [usize], avail: usize, eligible: impl Fn(usize) -> bool, floor: usize) {
    if widths.iter().sum::<usize>() <= avail {
        return;
    }
    let fixed: usize = (0..widths.len())
        .filter(|i| !eligible(*i))
        .map(|i| widths[i])
        .sum();
    let total_at = |level: usize| {
        fixed
            + (0..widths.len())
                .filter(|i| eligible(*i))
                .map(|i| widths[i].min(level))
                .sum::<usize>()
    };
    let top = (0..widths.len())
        .filter(|i| eligible(*i))
        .map(|i| widths[i])
        .max()
        .unwrap_or(0);
    let mut level = top;
    while level > floor && total_at(level) > avail {
        level -= 1;
    }
    let before = widths.to_vec();
    for (i, w) in widths.iter_mut().enumerate() {
        if eligible(i) {
            *w = (*w).min(level);
        }
    }
    let mut spare = avail.saturating_sub(widths.iter().sum());
    let mut cut: Vec<usize> = (0..widths.len())
        .filter(|&i| before[i] > widths[i])
        .collect();
    cut.sort_by_key(|&i| (before[i] - widths[i], i));
    for i in cut {
        let give = (before[i] - widths[i]).min(spare);
        widths[i] += give;
        spare -= give;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_fits_is_not_cut() {
        assert_eq!(fit(&[9, 29, 15], &[true, true, true], 60), [9, 29, 15]);
        assert_eq!(fit(&[9, 29, 15], &[true, true, true], 53), [9, 29, 15]);
    }

    #[test]
    fn the_longest_name_gives_way_first() {
        // 8 over: the pod column alone gives them.
        assert_eq!(
            fit(&[9, 29, 16, 20], &[true, true, false, true], 66),
            [9, 21, 16, 20]
        );
        // 14 over: the pod column down to the workload's 20, then both to 17; the spare
        // column goes to the workload, nearer to whole.
        assert_eq!(
            fit(&[9, 29, 16, 20], &[true, true, false, true], 60),
            [9, 17, 16, 18]
        );
    }

    #[test]
    fn spare_goes_to_the_column_nearest_to_whole() {
        // Level 14 leaves 1 spare column: the 15-wide container gets it and is whole.
        assert_eq!(fit(&[29, 15, 20], &[true, true, true], 43), [14, 15, 14]);
    }

    #[test]
    fn keywords_give_way_only_when_names_are_at_their_floor() {
        let names = [true, true, false, false];
        // Names down to 12 and 12 make it fit: REASON and STATE stay whole.
        assert_eq!(fit(&[29, 20, 16, 16], &names, 56), [12, 12, 16, 16]);
        // Still too wide: then everything, longest first.
        assert_eq!(fit(&[29, 20, 16, 16], &names, 48), [12, 12, 12, 12]);
        assert_eq!(fit(&[29, 20, 16, 16], &names, 4), [1, 1, 1, 1]);
        assert_eq!(fit(&[], &[], 10), Vec::<usize>::new());
    }
}
