//! Reading and folding on two cores: SQLite steps through a table on this thread while a
//! second thread folds the rows already read into the rules' states.
//!
//! One connection and one read transaction still read every row (the snapshot stays one),
//! and the fold sees the rows in the order they were read; only the work after the read
//! moves. Rows travel in batches of cells whose buffers go back and forth, so the hand-over
//! allocates nothing once the first batches are filled, and at most [`BATCHES`] batches
//! exist: memory stays bounded whichever side is faster.

use std::sync::mpsc;

use crate::error::Result;
use crate::py::value::Value;

/// Rows per batch: large enough that the hand-over costs nothing per row, small enough
/// that a batch of cells stays in the cache.
const BATCH: usize = 1024;
/// Batches in flight: one being filled, one being folded, one waiting between.
const BATCHES: usize = 3;

type Batch<const N: usize> = (Vec<[Value; N]>, usize);

/// Whether a second thread is worth starting.
pub fn parallel() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Where `produce` writes rows: [`Rows::next`] hands out the next row's cells to fill.
pub struct Rows<'c, const N: usize> {
    mode: Mode<'c, N>,
}

enum Mode<'c, const N: usize> {
    /// One thread: the row handed out is folded when the next one is asked for, or at the end.
    Inline {
        row: Box<[Value; N]>,
        pending: bool,
        consume: &'c mut dyn FnMut(&[Value; N]),
    },
    Threaded {
        cur: Batch<N>,
        made: usize,
        full_tx: mpsc::SyncSender<Batch<N>>,
        free_rx: &'c mpsc::Receiver<Batch<N>>,
        /// The worker stopped (it panicked): rows are read on into the same batch, and
        /// the panic is raised when the worker is joined.
        worker_gone: bool,
    },
}

impl<const N: usize> Rows<'_, N> {
    /// The cells of the next row, holding whatever an earlier row left in them (refill
    /// them with `set_from_ref` or `clone_from` to reuse their buffers).
    pub fn next(&mut self) -> &mut [Value; N] {
        match &mut self.mode {
            Mode::Inline {
                row,
                pending,
                consume,
            } => {
                if *pending {
                    consume(row);
                }
                *pending = true;
                row
            }
            Mode::Threaded {
                cur,
                made,
                full_tx,
                free_rx,
                worker_gone,
            } => {
                if cur.1 == BATCH {
                    let next = if *made < BATCHES {
                        *made += 1;
                        Some((new_batch(), 0))
                    } else {
                        free_rx.recv().ok()
                    };
                    match next {
                        Some(next) => {
                            let full = std::mem::replace(cur, next);
                            *worker_gone |= full_tx.send(full).is_err();
                        }
                        None => {
                            *worker_gone = true;
                            cur.1 = 0;
                        }
                    }
                }
                cur.1 += 1;
                &mut cur.0[cur.1 - 1]
            }
        }
    }

    /// Hand over the rows not yet folded.
    fn finish(self) {
        match self.mode {
            Mode::Inline {
                row,
                pending,
                consume,
            } => {
                if pending {
                    consume(&row);
                }
            }
            Mode::Threaded {
                cur,
                full_tx,
                worker_gone,
                ..
            } => {
                if !worker_gone && cur.1 > 0 {
                    let _ = full_tx.send(cur);
                }
            }
        }
    }
}

/// Call `produce` with the [`Rows`] it fills; each filled row is passed to `consume`, in
/// order — on a second thread when `threaded`. `produce`'s error is returned once the
/// rows before it are folded.
pub fn fold<const N: usize>(
    threaded: bool,
    produce: impl FnOnce(&mut Rows<'_, N>) -> Result<()>,
    mut consume: impl FnMut(&[Value; N]) + Send,
) -> Result<()> {
    if !threaded {
        let mut rows = Rows {
            mode: Mode::Inline {
                row: Box::new(std::array::from_fn(|_| Value::Null)),
                pending: false,
                consume: &mut consume,
            },
        };
        let result = produce(&mut rows);
        rows.finish();
        return result;
    }
    std::thread::scope(|s| {
        let (full_tx, full_rx) = mpsc::sync_channel::<Batch<N>>(BATCHES);
        let (free_tx, free_rx) = mpsc::sync_channel::<Batch<N>>(BATCHES);
        let worker = s.spawn(move || {
            for (rows, len) in full_rx {
                rows[..len].iter().for_each(&mut consume);
                // The producer may have stopped: then nobody wants the batch back.
                let _ = free_tx.send((rows, 0));
            }
        });
        let mut rows = Rows {
            mode: Mode::Threaded {
                cur: (new_batch(), 0),
                made: 1,
                full_tx,
                free_rx: &free_rx,
                worker_gone: false,
            },
        };
        let result = produce(&mut rows);
        // Sends the last batch and drops the sender, which ends the worker's loop.
        rows.finish();
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
        result
    })
}

fn new_batch<const N: usize>() -> Vec<[Value; N]> {
    (0..BATCH)
        .map(|_| std::array::from_fn(|_| Value::Null))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn run(threaded: bool, rows: usize, fail_at: Option<usize>) -> (Vec<i64>, Result<()>) {
        let mut seen = Vec::new();
        let result = fold::<2>(
            threaded,
            |out| {
                for i in 0..rows {
                    if fail_at == Some(i) {
                        return Err(Error::Usage {
                            message: format!("stopped at {i}"),
                        });
                    }
                    let row = out.next();
                    row[0] = Value::Int(i as i64);
                    row[1].set_from_ref(rusqlite::types::ValueRef::Text(b"x"));
                }
                Ok(())
            },
            |row| {
                assert_eq!(row[1], Value::Text("x".into()));
                let Value::Int(i) = row[0] else {
                    panic!("not an int")
                };
                seen.push(i);
            },
        );
        (seen, result)
    }

    #[test]
    fn every_row_is_folded_once_in_order_either_way() {
        for threaded in [false, true] {
            for rows in [0, 1, BATCH - 1, BATCH, BATCH + 1, BATCH * BATCHES * 3 + 7] {
                let (seen, result) = run(threaded, rows, None);
                assert!(result.is_ok());
                assert_eq!(
                    seen,
                    (0..rows as i64).collect::<Vec<_>>(),
                    "{threaded} {rows}"
                );
            }
        }
    }

    #[test]
    fn an_error_returns_after_the_rows_before_it_are_folded() {
        for threaded in [false, true] {
            let (seen, result) = run(threaded, BATCH * 5, Some(BATCH * 2 + 3));
            assert!(result.is_err());
            assert_eq!(seen.len(), BATCH * 2 + 3);
        }
    }
}
