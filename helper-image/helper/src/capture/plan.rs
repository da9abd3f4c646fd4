//! What a capture point becomes: the socket's filter program (one link type, or a dispatch
//! by hardware type for every interface), the file format and its interfaces, the ifindex to
//! bind to.

use ktui_packet::filter::{BpfInsn, Filter};

use super::bpf;
use super::error::{CaptureError, Result};
use super::files::FileFormat;
use super::link::LinkKind;
use super::point::Point;
use super::rtnl::Link;
use super::writer::FileInterface;

/// What the socket is bound to and how the files are laid out.
pub struct Plan {
    pub program: Vec<BpfInsn>,
    pub format: FileFormat,
    pub interfaces: Vec<FileInterface>,
    /// 0 = every interface.
    pub ifindex: i32,
    /// The bound link, or the namespace's links in file order (for the framer).
    pub links: Vec<Link>,
}

fn compile(filter: Option<&Filter>, kind: LinkKind, snaplen: u32) -> Result<Vec<BpfInsn>> {
    match filter {
        None => Ok(bpf::accept_all(snaplen)),
        Some(f) => f
            .compile(kind.link_type(), snaplen)
            .map_err(|e| CaptureError::BadRequest(format!("filter {:?}: {e}", f.text))),
    }
}

fn file_interface(l: &Link) -> FileInterface {
    FileInterface {
        name: l.name.clone(),
        linktype: LinkKind::of_hatype(l.hatype).linktype(),
    }
}

pub fn plan(point: &mut Point, filter: Option<&Filter>, snaplen: u32) -> Result<Plan> {
    if let Some(l) = &point.link {
        let kind = LinkKind::of_hatype(l.hatype);
        if filter.is_some() && kind == LinkKind::Cooked {
            return Err(CaptureError::BadRequest(format!(
                "interface {:?} has hardware type {} (written as Linux cooked capture): filters are not supported on it; capture it without a filter",
                l.name, l.hatype
            )));
        }
        return Ok(Plan {
            program: compile(filter, kind, snaplen)?,
            format: FileFormat::Pcap {
                linktype: kind.linktype(),
            },
            interfaces: vec![file_interface(l)],
            ifindex: l.index,
            links: vec![l.clone()],
        });
    }
    let program = match filter {
        None => bpf::accept_all(snaplen),
        Some(_) => {
            let eth = compile(filter, LinkKind::Ethernet, snaplen)?;
            let raw = compile(filter, LinkKind::Raw, snaplen).ok();
            bpf::by_hatype(Some(&eth), raw.as_deref())
        }
    };
    let mut links = point
        .rtnl
        .links()
        .map_err(|e| CaptureError::io("listing the namespace's interfaces", e))?;
    links.sort_by_key(|l| l.index);
    Ok(Plan {
        program,
        format: FileFormat::PcapNg,
        interfaces: links.iter().map(file_interface).collect(),
        ifindex: 0,
        links,
    })
}
