//! The interned string table; index 0 is always "".

use std::collections::HashMap;

/// An index into a profile's [`StringTable`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrId(pub u32);

impl StrId {
    pub const EMPTY: StrId = StrId(0);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Strings by id, with a lookup from string to id built on first use.
#[derive(Clone, Debug)]
pub struct StringTable {
    strings: Vec<String>,
    ids: HashMap<String, StrId>,
    /// How many leading entries of `strings` are in `ids`.
    indexed: usize,
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            strings: vec![String::new()],
            ids: HashMap::new(),
            indexed: 1,
        }
    }
}

impl PartialEq for StringTable {
    fn eq(&self, other: &Self) -> bool {
        self.strings == other.strings
    }
}

impl Eq for StringTable {}

impl StringTable {
    /// A table holding exactly `strings`, as decoded; `strings[0]` must be "".
    pub fn from_vec(strings: Vec<String>) -> Self {
        StringTable {
            strings,
            ids: HashMap::new(),
            indexed: 1,
        }
    }

    pub fn get(&self, id: StrId) -> &str {
        self.strings.get(id.0 as usize).map_or("", String::as_str)
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }

    pub fn as_slice(&self) -> &[String] {
        &self.strings
    }

    /// The id of `s`, adding it when absent.
    pub fn intern(&mut self, s: &str) -> StrId {
        if s.is_empty() {
            return StrId::EMPTY;
        }
        self.index_existing();
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = StrId(self.strings.len() as u32);
        self.strings.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        self.indexed = self.strings.len();
        id
    }

    /// Looks `s` up without adding it.
    pub fn find(&self, s: &str) -> Option<StrId> {
        if s.is_empty() {
            return Some(StrId::EMPTY);
        }
        self.strings
            .iter()
            .position(|t| t == s)
            .map(|i| StrId(i as u32))
    }

    fn index_existing(&mut self) {
        for (i, s) in self.strings.iter().enumerate().skip(self.indexed) {
            self.ids.entry(s.clone()).or_insert(StrId(i as u32));
        }
        self.indexed = self.strings.len();
    }
}
