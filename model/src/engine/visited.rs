//! The visited set: one 64-bit fingerprint, one parent id and one action index per state,
//! found through an open-addressing table of state ids (linear probing). No full state is
//! kept once it left the frontier; a path is rebuilt by replaying the action indices from the
//! initial state ([`super::path`]).

const EMPTY: u32 = u32::MAX;

/// Action indices: one byte each while every index fits, two from the first that does not.
enum Indices {
    Narrow(Vec<u8>),
    Wide(Vec<u16>),
}

pub struct Visited {
    /// Fingerprint of state `id`.
    fps: Vec<u64>,
    /// Parent of state `id` (the initial state is its own parent).
    parents: Vec<u32>,
    /// Index of the action taken in the parent, among the parent's candidate actions.
    actions: Indices,
    /// Slots holding state ids; its length is a power of two.
    table: Vec<u32>,
    shift: u32,
}

impl Default for Visited {
    fn default() -> Self {
        Visited::new()
    }
}

impl Visited {
    pub fn new() -> Visited {
        let bits = 16;
        Visited {
            fps: Vec::new(),
            parents: Vec::new(),
            actions: Indices::Narrow(Vec::new()),
            table: vec![EMPTY; 1 << bits],
            shift: 64 - bits,
        }
    }

    pub fn len(&self) -> usize {
        self.fps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fps.is_empty()
    }

    /// The id of the state with fingerprint `fp`, if visited.
    pub fn get(&self, fp: u64) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut i = (fp >> self.shift) as usize;
        loop {
            let id = self.table[i];
            if id == EMPTY {
                return None;
            }
            if self.fps[id as usize] == fp {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// Insert a state reached from `parent` by its candidate action `action`: its new id, or
    /// `Err` with its id if it was visited already.
    pub fn insert(&mut self, fp: u64, parent: u32, action: usize) -> Result<u32, u32> {
        if (self.fps.len() + 1) * 5 > self.table.len() * 4 {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = (fp >> self.shift) as usize;
        loop {
            let id = self.table[i];
            if id == EMPTY {
                break;
            }
            if self.fps[id as usize] == fp {
                return Err(id);
            }
            i = (i + 1) & mask;
        }
        let id = u32::try_from(self.fps.len())
            .ok()
            .filter(|&id| id != EMPTY)
            .expect("more than 4 billion states: beyond one process's visited set");
        self.table[i] = id;
        self.fps.push(fp);
        self.parents.push(parent);
        self.push_action(action);
        Ok(id)
    }

    fn push_action(&mut self, action: usize) {
        if let Indices::Narrow(v) = &mut self.actions {
            match u8::try_from(action) {
                Ok(a) => return v.push(a),
                Err(_) => {
                    let wide = v.iter().map(|&a| u16::from(a)).collect();
                    self.actions = Indices::Wide(wide);
                }
            }
        }
        if let Indices::Wide(v) = &mut self.actions {
            let a = u16::try_from(action).expect("more than 65535 candidate actions in a state");
            v.push(a);
        }
    }

    fn grow(&mut self) {
        let bits = self.table.len().trailing_zeros() + 1;
        self.table = vec![EMPTY; 1 << bits];
        self.shift = 64 - bits;
        let mask = self.table.len() - 1;
        for (id, &fp) in self.fps.iter().enumerate() {
            let mut i = (fp >> self.shift) as usize;
            while self.table[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.table[i] = id as u32;
        }
    }

    /// The parent of `id` and the index of the action taken there (`None` for the root).
    pub fn parent(&self, id: u32) -> Option<(u32, usize)> {
        let i = id as usize;
        if i == 0 {
            return None;
        }
        let a = match &self.actions {
            Indices::Narrow(v) => usize::from(v[i]),
            Indices::Wide(v) => usize::from(v[i]),
        };
        Some((self.parents[i], a))
    }

    /// Heap bytes held (what the bytes-per-state figure counts).
    pub fn heap_bytes(&self) -> usize {
        let actions = match &self.actions {
            Indices::Narrow(v) => v.capacity(),
            Indices::Wide(v) => v.capacity() * 2,
        };
        self.fps.capacity() * 8 + self.parents.capacity() * 4 + actions + self.table.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_grows_and_keeps_parents() {
        let mut v = Visited::new();
        assert_eq!(v.insert(7, 0, 0), Ok(0));
        assert_eq!(v.insert(7, 0, 3), Err(0));
        // Enough to grow the table several times; fingerprints spread by a multiplier.
        for n in 1..300_000u64 {
            let fp = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            assert_eq!(
                v.insert(fp, (n / 2) as u32, (n % 300) as usize),
                Ok(n as u32)
            );
        }
        assert_eq!(v.len(), 300_000);
        assert_eq!(v.get(7), Some(0));
        let fp = 1234u64.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        assert_eq!(v.get(fp), Some(1234));
        // Index 299 widened the action indices; earlier ones kept their values.
        assert_eq!(v.parent(1234), Some((617, 1234 % 300)));
        assert_eq!(v.parent(299), Some((149, 299)));
        assert_eq!(v.parent(0), None);
        assert_eq!(v.get(12345), None);
    }
}
