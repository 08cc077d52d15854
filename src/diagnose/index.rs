//! The tasks the fleet report evaluates, numbered: each distinct task id (as a Python
//! `dict` key, see [`DictKey`](crate::py::value::DictKey)) gets a dense index, so the
//! rules' per-task states live in one `Vec` and the events and runs passes find a task's
//! state from the borrowed cell, without an allocation per row.
//!
//! The ids are kept encoded ([`Value::encode_dict_key`]) end to end in one buffer, and the
//! table holds only their indices: about 14 bytes a task beside the id's own bytes,
//! where a map of owned keys costs some 60.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rusqlite::types::ValueRef;

use crate::py::value::Value;

#[derive(Default)]
pub struct TaskIndex {
    /// Each index's encoded key ends at `ends[index]` in `keys`.
    ends: Vec<usize>,
    keys: Vec<u8>,
    table: HashTable<u32>,
    /// Randomly seeded per process: a board cannot be built to collide its ids.
    hasher: foldhash::fast::RandomState,
    /// The key being looked up, encoded (reused from row to row).
    scratch: Vec<u8>,
}

impl TaskIndex {
    pub fn with_capacity(tasks: usize) -> Self {
        TaskIndex {
            ends: Vec::with_capacity(tasks),
            table: HashTable::with_capacity(tasks),
            ..TaskIndex::default()
        }
    }

    /// How many distinct ids are indexed.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    fn key<'a>(ends: &[usize], keys: &'a [u8], i: u32) -> &'a [u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { ends[i - 1] };
        &keys[start..ends[i]]
    }

    fn encode(&mut self, id: ValueRef<'_>) -> u64 {
        self.scratch.clear();
        Value::encode_dict_key(id, &mut self.scratch);
        self.hasher.hash_one(&self.scratch)
    }

    /// The index of `id`, added when new. `None` only past `u32::MAX` distinct ids,
    /// which no SQLite table of tasks reaches in practice.
    pub fn insert(&mut self, id: ValueRef<'_>) -> Option<u32> {
        let hash = self.encode(id);
        let TaskIndex {
            ends,
            keys,
            table,
            hasher,
            scratch,
        } = self;
        if let Some(&i) = table.find(hash, |&i| Self::key(ends, keys, i) == scratch.as_slice()) {
            return Some(i);
        }
        let i = u32::try_from(ends.len()).ok()?;
        keys.extend_from_slice(scratch);
        ends.push(keys.len());
        table.insert_unique(hash, i, |&j| hasher.hash_one(Self::key(ends, keys, j)));
        Some(i)
    }

    /// The index of `id`, if it is indexed.
    pub fn get(&mut self, id: ValueRef<'_>) -> Option<u32> {
        let hash = self.encode(id);
        let TaskIndex {
            ends,
            keys,
            table,
            scratch,
            ..
        } = self;
        table
            .find(hash, |&i| Self::key(ends, keys, i) == scratch.as_slice())
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_equal_as_dict_keys_share_an_index() {
        let mut ix = TaskIndex::with_capacity(2);
        let a = ix.insert(ValueRef::Text(b"t_a")).unwrap();
        let one = ix.insert(ValueRef::Integer(1)).unwrap();
        assert_eq!(ix.insert(ValueRef::Real(1.0)), Some(one));
        assert_eq!(ix.insert(ValueRef::Text(b"t_a")), Some(a));
        assert_ne!(a, one);
        assert_eq!(ix.len(), 2);
        assert_eq!(ix.get(ValueRef::Text(b"t_a")), Some(a));
        assert_eq!(ix.get(ValueRef::Text(b"1")), None);
        assert_eq!(ix.get(ValueRef::Blob(b"t_a")), None);
        assert_eq!(ix.get(ValueRef::Null), None);
    }

    #[test]
    fn many_ids_stay_distinct_past_growth() {
        let mut ix = TaskIndex::with_capacity(0);
        for n in 0..10_000i64 {
            assert_eq!(
                ix.insert(ValueRef::Text(format!("t_{n}").as_bytes())),
                Some(n as u32)
            );
        }
        for n in 0..10_000i64 {
            assert_eq!(
                ix.get(ValueRef::Text(format!("t_{n}").as_bytes())),
                Some(n as u32)
            );
            assert_eq!(ix.get(ValueRef::Integer(n)), None);
        }
    }
}
