//! Reading commits straight from pack files, for walks over long histories.
//!
//! Summing a history reads every commit object once. Going through the object database costs
//! an object-cache insert and a second lookup per commit, and gix inflates each object into a
//! buffer exactly its size, which keeps zlib on its slow byte-by-byte path (its fast loop needs
//! room for a whole match left in the output). [`PackedCommits`] looks commits up in the pack
//! indexes itself and inflates undeltified commits into a buffer with room to spare; commits
//! stored as deltas are resolved with gix's pack decoder and a small cache of resolved objects
//! (gix keeps none unless built with its pack-cache features); anything else (loose objects, objects of
//! alternates, deltas against objects outside the pack) is read through gix as before.

use std::cell::{Cell, RefCell};

use gix::odb::pack;

/// Room beyond an object's size given to the inflater: zlib-rs takes its fast path only while
/// at least 260 bytes of output space are left.
const INFLATE_SLACK: usize = 320;

/// An object finder that reads commits from the repository's packs (undeltified ones inflated
/// directly, deltified ones through a small cache) and everything else from the repository's
/// object database. Remembers which commit it decoded last.
pub(crate) struct PackedCommits<'repo> {
    packs: Vec<pack::Bundle>,
    objects: &'repo gix::OdbHandle,
    object_hash: gix::hash::Kind,
    inflate: RefCell<gix::zlib::Inflate>,
    delta_cache: RefCell<DeltaCache>,
    last: Cell<Option<gix::ObjectId>>,
}

impl<'repo> PackedCommits<'repo> {
    /// Opens the packs of `repo`'s object directory (not of its alternates). A pack that does
    /// not open is left to gix.
    pub(crate) fn new(repo: &'repo gix::Repository) -> PackedCommits<'repo> {
        let object_hash = repo.object_hash();
        let pack_dir = repo.objects.store_ref().path().join("pack");
        let mut packs = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&pack_dir) {
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "idx"))
                .collect();
            paths.sort();
            for path in paths {
                if let Ok(bundle) = pack::Bundle::at(&path, object_hash) {
                    packs.push(bundle);
                }
            }
        }
        PackedCommits {
            packs,
            objects: &repo.objects,
            object_hash,
            inflate: RefCell::new(gix::zlib::Inflate::default()),
            delta_cache: RefCell::new(DeltaCache::default()),
            last: Cell::new(None),
        }
    }

    /// The id of the commit whose data the last successful lookup wrote, if it was a commit.
    pub(crate) fn last_commit(&self) -> Option<gix::ObjectId> {
        self.last.get()
    }

    /// Inflates `id` into `buffer` if it is an undeltified commit in one of the packs.
    /// `None` when it is not there, is another kind of entry, or does not inflate cleanly (gix
    /// then reads it and reports any corruption).
    fn packed_commit(&self, id: &gix::oid, buffer: &mut Vec<u8>) -> Option<()> {
        for bundle in &self.packs {
            let Some(index) = bundle.index.lookup(id) else {
                continue;
            };
            let entry = bundle
                .pack
                .entry(bundle.index.pack_offset_at_index(index))
                .ok()?;
            match entry.header {
                pack::data::entry::Header::Commit => {}
                pack::data::entry::Header::OfsDelta { .. } => {
                    return self.deltified_commit(bundle, entry, buffer);
                }
                _ => return None,
            }
            let size = usize::try_from(entry.decompressed_size).ok()?;
            let input = bundle
                .pack
                .entry_slice(entry.data_offset..bundle.pack.pack_end() as u64)?;
            buffer.clear();
            buffer.resize(size.checked_add(INFLATE_SLACK)?, 0);
            let mut inflate = self.inflate.borrow_mut();
            inflate.reset();
            let (status, _, written) = inflate.once(input, buffer).ok()?;
            if status != gix::zlib::Status::StreamEnd || written != size {
                return None;
            }
            buffer.truncate(size);
            return Some(());
        }
        None
    }
}

impl PackedCommits<'_> {
    /// Resolves a delta entry (`git gc` stores about half of all commits as deltas against
    /// other commits) with gix's decoder and a small cache of resolved objects, so that a chain
    /// is not resolved again from its base for each commit on it. `None` unless it resolves,
    /// within the pack, to a commit.
    fn deltified_commit(
        &self,
        bundle: &pack::Bundle,
        entry: pack::data::Entry,
        buffer: &mut Vec<u8>,
    ) -> Option<()> {
        let mut inflate = self.inflate.borrow_mut();
        let mut cache = self.delta_cache.borrow_mut();
        let outcome = bundle
            .pack
            .decode_entry(entry, buffer, &mut inflate, &|_, _| Ok(None), &mut *cache)
            .ok()?;
        (outcome.kind == gix::objs::Kind::Commit).then_some(())
    }
}

/// Objects resolved from deltas, by pack and offset: a direct-mapped cache of a few hundred
/// entries, which is what consecutive commits of a walk share.
struct DeltaCache {
    slots: Vec<Option<CachedObject>>,
}

struct CachedObject {
    pack_id: u32,
    offset: u64,
    kind: gix::objs::Kind,
    compressed_size: usize,
    data: Vec<u8>,
}

/// How many resolved objects [`DeltaCache`] keeps (a power of two).
const DELTA_CACHE_SLOTS: usize = 256;

/// Objects larger than this are not kept: commits are small, and a walk reads nothing else.
const DELTA_CACHE_MAX_OBJECT: usize = 64 * 1024;

impl Default for DeltaCache {
    fn default() -> DeltaCache {
        DeltaCache {
            slots: (0..DELTA_CACHE_SLOTS).map(|_| None).collect(),
        }
    }
}

impl DeltaCache {
    fn slot(pack_id: u32, offset: u64) -> usize {
        let mixed = (offset ^ (u64::from(pack_id) << 40)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 32) as usize % DELTA_CACHE_SLOTS
    }
}

impl pack::cache::DecodeEntry for DeltaCache {
    fn put(
        &mut self,
        pack_id: u32,
        offset: u64,
        data: &[u8],
        kind: gix::objs::Kind,
        compressed_size: usize,
    ) {
        if data.len() > DELTA_CACHE_MAX_OBJECT {
            return;
        }
        let slot = &mut self.slots[DeltaCache::slot(pack_id, offset)];
        let mut reused = slot.take().map(|old| old.data).unwrap_or_default();
        reused.clear();
        reused.extend_from_slice(data);
        *slot = Some(CachedObject {
            pack_id,
            offset,
            kind,
            compressed_size,
            data: reused,
        });
    }

    fn get(
        &mut self,
        pack_id: u32,
        offset: u64,
        out: &mut Vec<u8>,
    ) -> Option<(gix::objs::Kind, usize)> {
        let cached = self.slots[DeltaCache::slot(pack_id, offset)].as_ref()?;
        if cached.pack_id != pack_id || cached.offset != offset {
            return None;
        }
        out.clear();
        out.extend_from_slice(&cached.data);
        Some((cached.kind, cached.compressed_size))
    }
}

impl gix::objs::Find for PackedCommits<'_> {
    fn try_find<'a>(
        &self,
        id: &gix::oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::error::Result<Option<gix::objs::Data<'a>>> {
        self.last.set(None);
        if self.packed_commit(id, buffer).is_some() {
            self.last.set(Some(id.to_owned()));
            return Ok(Some(gix::objs::Data {
                kind: gix::objs::Kind::Commit,
                object_hash: self.object_hash,
                data: buffer,
            }));
        }
        let found = self.objects.try_find(id, buffer)?;
        if found
            .as_ref()
            .is_some_and(|data| data.kind == gix::objs::Kind::Commit)
        {
            self.last.set(Some(id.to_owned()));
        }
        Ok(found)
    }
}
