//! The checkpoint/ members of a CRIU checkpoint: pages images go to the scanner, the metadata
//! images ktui reads are decoded (within the per-image and total caps), the rest is skipped.

use std::io::Read;

use super::super::criu::{self, ImageType};
use super::super::error::{InspectError, Result};
use super::super::tar::{Member, TarReader};
use super::super::{MAX_ITEMS, MAX_METADATA, MAX_METADATA_TOTAL};
use super::Walk;

impl Walk {
    pub(super) fn criu_member<R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        m: &Member,
        name: &str,
    ) -> Result<()> {
        let Some(stem) = name.strip_suffix(".img") else {
            return Ok(());
        };
        if let Some(id) = stem
            .strip_prefix("pages-")
            .and_then(|n| n.parse::<u32>().ok())
        {
            self.c.pages_bytes += m.size;
            self.c.pages.insert(id, (m.path.clone(), m.size));
            return self.scan(tar, m);
        }
        let numbered = |prefix: &str| {
            stem.strip_prefix(prefix)
                .and_then(|n| n.parse::<u32>().ok())
        };
        let (ty, id) = match stem {
            "inventory" => (ImageType::Inventory, None),
            "pstree" => (ImageType::Pstree, None),
            "files" => (ImageType::Files, None),
            "reg-files" => (ImageType::RegFiles, None),
            "inetsk" => (ImageType::InetSk, None),
            "unixsk" => (ImageType::UnixSk, None),
            "pipes" => (ImageType::Pipes, None),
            _ => {
                let typed = [
                    ("core-", ImageType::Core),
                    ("mm-", ImageType::Mm),
                    ("pagemap-shmem-", ImageType::Pagemap),
                    ("pagemap-", ImageType::Pagemap),
                    ("ids-", ImageType::Ids),
                    ("fs-", ImageType::Fs),
                    ("fdinfo-", ImageType::Fdinfo),
                ];
                match typed
                    .iter()
                    .find_map(|(p, ty)| numbered(p).map(|id| (*ty, id)))
                {
                    Some((ty, id)) => (ty, Some(id)),
                    None => return Ok(()),
                }
            }
        };
        self.warn_duplicate(m);
        self.metadata_used += m.size;
        if self.metadata_used > MAX_METADATA_TOTAL {
            return Err(InspectError::MetadataBudget {
                archive: self.archive.clone(),
                cap: MAX_METADATA_TOTAL,
            });
        }
        let data = self.small(tar, m, MAX_METADATA, "CRIU metadata image")?;
        self.decode(m, ty, id, stem, &data)
    }

    fn decode(
        &mut self,
        m: &Member,
        ty: ImageType,
        id: Option<u32>,
        stem: &str,
        data: &[u8],
    ) -> Result<()> {
        use ImageType as T;
        let err = |e| self.image_error(m, e);
        let id = id.unwrap_or(0);
        let items = match ty {
            T::Inventory => {
                self.c.inventory =
                    Some(criu::decode_one(data, ty, criu::inventory_entry).map_err(err)?);
                1
            }
            T::Pstree => {
                let tree = criu::decode_all(data, ty, criu::pstree_entry).map_err(err)?;
                let n = tree.iter().map(|p| 1 + p.threads.len()).sum();
                self.c.pstree = Some(tree);
                n
            }
            T::Core => {
                let core = criu::decode_one(data, ty, criu::core_entry).map_err(err)?;
                self.c.cores.insert(id, core);
                1
            }
            T::Mm => {
                let mm = criu::decode_one(data, ty, criu::mm_entry).map_err(err)?;
                let n = 1 + mm.vmas.len();
                self.c.mms.insert(id, mm);
                n
            }
            T::Pagemap => {
                let pm = criu::pagemap(data).map_err(err)?;
                let n = 1 + pm.entries.len();
                let owner = (!stem.starts_with("pagemap-shmem-")).then_some(id);
                self.c.pagemaps.push((owner, pm));
                n
            }
            T::Ids => {
                let ids = criu::decode_one(data, ty, criu::ids_entry).map_err(err)?;
                self.c.ids.insert(id, ids);
                1
            }
            T::Fs => {
                let fs = criu::decode_one(data, ty, criu::fs_entry).map_err(err)?;
                self.c.fs.insert(id, fs);
                1
            }
            T::Fdinfo => {
                let fds = criu::decode_all(data, ty, criu::fdinfo_entry).map_err(err)?;
                let n = fds.len();
                self.c.fdinfo.insert(id, fds);
                n
            }
            T::Files | T::RegFiles | T::InetSk | T::UnixSk | T::Pipes => {
                let decode = match ty {
                    T::Files => criu::file_entry,
                    T::RegFiles => criu::reg_file_entry,
                    T::InetSk => criu::inet_file,
                    T::UnixSk => criu::unix_file,
                    _ => criu::pipe_entry,
                };
                let files = criu::decode_all(data, ty, decode).map_err(err)?;
                let n = files.len();
                for f in files {
                    self.c.files.entry(f.id).or_insert(f);
                }
                n
            }
            T::Stats => 0,
        };
        self.items += items as u64;
        if self.items > MAX_ITEMS {
            return Err(InspectError::TooManyItems {
                archive: self.archive.clone(),
                cap: MAX_ITEMS,
            });
        }
        Ok(())
    }
}
