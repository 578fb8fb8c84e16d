//! Reading commits straight from pack files, for walks over long histories.
//!
//! Summing a history reads every commit object once. Going through the object database costs
//! an object-cache insert and a second lookup per commit, and gix inflates each object into a
//! buffer exactly its size, which keeps zlib on its slow byte-by-byte path (its fast loop needs
//! room for a whole match left in the output). [`PackedCommits`] looks commits up in the pack
//! indexes itself and inflates undeltified commits into a buffer with room to spare; anything
//! else (loose objects, deltified or alternate objects) is read through gix as before.

use std::cell::{Cell, RefCell};

use gix::odb::pack;

/// Room beyond an object's size given to the inflater: zlib-rs takes its fast path only while
/// at least 260 bytes of output space are left.
const INFLATE_SLACK: usize = 320;

/// An object finder that reads undeltified commits from the repository's packs and everything
/// else from the repository's object database. Remembers which commit it decoded last.
pub(crate) struct PackedCommits<'repo> {
    packs: Vec<pack::Bundle>,
    objects: &'repo gix::OdbHandle,
    object_hash: gix::hash::Kind,
    inflate: RefCell<gix::zlib::Inflate>,
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
            if !matches!(entry.header, pack::data::entry::Header::Commit) {
                return None;
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
