//! Bus-level tests: configuration mechanism #1 as Linux drives it, slot allocation as QEMU
//! does it, and BAR decoding through the MMIO window.

use std::sync::{Arc, Mutex};

use super::*;
use crate::bus::BusDevice;

/// A function with one 4 KiB memory BAR that echoes the last write and a vendor capability.
struct Probe {
    config: PciConfiguration,
    last_write: Option<(usize, u64, Vec<u8>)>,
}

impl Probe {
    fn new(base: u64) -> Self {
        let mut config = PciConfiguration::new(&PciHeader {
            vendor_id: 0x1234,
            device_id: 0x5678,
            revision: 3,
            class_code: 0x02_00_00,
            subsystem_vendor_id: 0x1af4,
            subsystem_id: 0x1100,
            multifunction: false,
            interrupt_pin: 0,
        });
        config
            .add_bar(
                0,
                BarKind::Memory32 {
                    prefetchable: false,
                },
                0x1000,
                base,
            )
            .unwrap();
        config.add_capability(0x09, &[4, 0xaa], &[]).unwrap();
        config.add_capability(0x05, &[0; 8], &[]).unwrap();
        config.freeze_reset_state();
        Probe {
            config,
            last_write: None,
        }
    }
}

impl PciDevice for Probe {
    fn config_read(&mut self, offset: usize, data: &mut [u8]) {
        self.config.read(offset, data);
    }
    fn config_write(&mut self, offset: usize, data: &[u8]) -> Option<BarMove> {
        self.config.write(offset, data)
    }
    fn memory_windows(&self) -> Vec<(usize, u64, u64)> {
        self.config.memory_windows()
    }
    fn bar_read(&mut self, bar: usize, offset: u64, data: &mut [u8]) {
        data.fill(bar as u8 + offset as u8);
    }
    fn bar_write(&mut self, bar: usize, offset: u64, data: &[u8]) {
        self.last_write = Some((bar, offset, data.to_vec()));
    }
    fn reset(&mut self) -> Vec<BarMove> {
        self.config.reset()
    }
}

#[derive(Default)]
struct Moves(Mutex<Vec<(PciDevfn, BarMove)>>);
impl PciBarEvents for Moves {
    fn bar_moved(&self, devfn: PciDevfn, moved: BarMove) {
        self.0.lock().unwrap().push((devfn, moved));
    }
}

fn info(name: &str) -> PciFunctionInfo<'_> {
    PciFunctionInfo {
        type_name: name,
        id: None,
        multifunction: false,
    }
}

struct Io(PciConfigIo);

impl Io {
    fn outl(&mut self, port: u64, v: u32) {
        self.0.write(port - 0xcf8, &v.to_le_bytes());
    }
    fn outw(&mut self, port: u64, v: u16) {
        self.0.write(port - 0xcf8, &v.to_le_bytes());
    }
    fn outb(&mut self, port: u64, v: u8) {
        self.0.write(port - 0xcf8, &[v]);
    }
    fn inl(&mut self, port: u64) -> u32 {
        let mut b = [0; 4];
        self.0.read(port - 0xcf8, &mut b);
        u32::from_le_bytes(b)
    }
    fn inw(&mut self, port: u64) -> u16 {
        let mut b = [0; 2];
        self.0.read(port - 0xcf8, &mut b);
        u16::from_le_bytes(b)
    }
    fn inb(&mut self, port: u64) -> u8 {
        let mut b = [0; 1];
        self.0.read(port - 0xcf8, &mut b);
        b[0]
    }
    fn addr(slot: u8, func: u8, reg: u8) -> u32 {
        0x8000_0000 | u32::from(slot) << 11 | u32::from(func) << 8 | u32::from(reg & 0xfc)
    }
    /// Linux's `pci_conf1_read`.
    fn read(&mut self, slot: u8, func: u8, reg: u8, len: usize) -> u32 {
        self.outl(0xcf8, Self::addr(slot, func, reg));
        let port = 0xcfc + u64::from(reg & 3);
        match len {
            1 => u32::from(self.inb(port)),
            2 => u32::from(self.inw(port)),
            _ => self.inl(port),
        }
    }
    fn write(&mut self, slot: u8, func: u8, reg: u8, len: usize, v: u32) {
        self.outl(0xcf8, Self::addr(slot, func, reg));
        let port = 0xcfc + u64::from(reg & 3);
        match len {
            1 => self.outb(port, v as u8),
            2 => self.outw(port, v as u16),
            _ => self.outl(port, v),
        }
    }
}

fn setup() -> (Arc<PciBus>, Io, Arc<Mutex<Probe>>, Arc<Moves>) {
    let mut bus = PciBus::new();
    let moves = Arc::new(Moves::default());
    bus.set_bar_events(moves.clone());
    let probe = Arc::new(Mutex::new(Probe::new(0xc000_0000)));
    let at = bus.add_device(None, info("probe"), probe.clone()).unwrap();
    assert_eq!(at, PciDevfn::new(1, 0).unwrap());
    let bus = Arc::new(bus);
    let io = Io(PciConfigIo::new(bus.clone()));
    (bus, io, probe, moves)
}

#[test]
fn latch_reads_back_and_survives_linux_type1_probe() {
    let (_, mut io, _, _) = setup();
    // pci_check_type1: outb(0x01, 0xCFB); tmp = inl(0xCF8); outl(0x80000000, 0xCF8); ...
    io.outb(0xcfb, 0x01);
    let tmp = io.inl(0xcf8);
    io.outl(0xcf8, 0x8000_0000);
    assert_eq!(io.inl(0xcf8), 0x8000_0000);
    io.outl(0xcf8, tmp);
    assert_eq!(io.inl(0xcf8), tmp);
    // Any dword value reads back exactly, reserved bits included; partial reads see bytes.
    io.outl(0xcf8, 0xfedc_ba98);
    assert_eq!(io.inl(0xcf8), 0xfedc_ba98);
    assert_eq!(io.inw(0xcfa), 0xfedc);
    assert_eq!(io.inb(0xcf9), 0xba);
    // Sub-dword writes to the latch are ignored.
    io.outw(0xcf8, 0x1234);
    io.outb(0xcfb, 0x00);
    assert_eq!(io.inl(0xcf8), 0xfedc_ba98);
}

#[test]
fn host_bridge_is_i440fx() {
    let (_, mut io, _, _) = setup();
    assert_eq!(io.read(0, 0, 0, 4), 0x1237_8086);
    assert_eq!(io.read(0, 0, 8, 4), 0x0600_0002);
    assert_eq!(io.read(0, 0, 0x0a, 2), 0x0600);
    assert_eq!(io.read(0, 0, 0x2c, 4), 0x1100_1af4);
    assert_eq!(io.read(0, 0, 0x0e, 1), 0);
}

#[test]
fn every_offset_and_width_matches_the_config_space() {
    let (_, mut io, probe, _) = setup();
    let mut image = [0u8; 256];
    probe.lock().unwrap().config.read(0, &mut image);
    for reg in 0..=255u8 {
        for len in [1usize, 2, 4] {
            let got = io.read(1, 0, reg, len);
            // An access runs to the end of the dword window at most (0xCFF); the rest is ones.
            let mut want = [0xffu8; 4];
            let inside = len.min(4 - usize::from(reg & 3));
            want[..inside].copy_from_slice(&image[usize::from(reg)..usize::from(reg) + inside]);
            let want = u32::from_le_bytes(want) & (u32::MAX >> (32 - 8 * len as u32));
            assert_eq!(got, want, "reg {reg:#x} len {len}");
        }
    }
}

#[test]
fn absent_functions_and_disabled_accesses() {
    let (bus, mut io, _, _) = setup();
    assert_eq!(io.read(5, 0, 0, 4), 0xffff_ffff);
    assert_eq!(io.read(1, 1, 0, 2), 0xffff);
    // Other buses are empty.
    io.outl(0xcf8, 0x8001_0000);
    assert_eq!(io.inl(0xcfc), 0xffff_ffff);
    // Enable bit clear: all-ones, writes dropped.
    io.outl(0xcf8, 0x0000_0804);
    assert_eq!(io.inl(0xcfc), 0xffff_ffff);
    io.outw(0xcfc, 0x0002);
    assert_eq!(io.read(1, 0, 4, 2), 0);
    // Writes to absent functions do nothing and do not panic.
    io.write(9, 3, 0x10, 4, 0xffff_ffff);
    let mut d = [0u8; 4];
    bus.config_read(0, 8, 254, &mut d);
    assert_eq!(&d[2..], &[0xff, 0xff]);
}

#[test]
fn bar_sizing_linux_style_and_relocation() {
    let (bus, mut io, probe, moves) = setup();
    // __pci_read_base: decode off, write ~0, read, restore.
    let orig = io.read(1, 0, 0x10, 4);
    assert_eq!(orig, 0xc000_0000);
    io.write(1, 0, 0x10, 4, 0xffff_ffff);
    assert_eq!(io.read(1, 0, 0x10, 4), 0xffff_f000);
    io.write(1, 0, 0x10, 4, orig);
    assert!(moves.0.lock().unwrap().is_empty());
    // Decoding follows the memory bit.
    let mut d = [0u8; 4];
    assert!(!bus.mmio_read(0xc000_0010, &mut d));
    io.write(1, 0, 0x04, 2, 0x0002);
    assert!(bus.mmio_read(0xc000_0010, &mut d));
    assert_eq!(d, [0x10; 4]);
    // An access straddling the BAR end is not decoded.
    assert!(!bus.mmio_read(0xc000_0ffe, &mut d));
    // Relocation: reported once, decoded at the new place only.
    io.write(1, 0, 0x10, 4, 0xc010_0000);
    assert_eq!(
        moves.0.lock().unwrap().as_slice(),
        &[(
            PciDevfn::new(1, 0).unwrap(),
            BarMove {
                bar: 0,
                old_base: 0xc000_0000,
                new_base: 0xc010_0000,
                size: 0x1000
            }
        )]
    );
    assert!(!bus.mmio_write(0xc000_0000, &[1]));
    assert!(bus.mmio_write(0xc010_0008, &[1, 2]));
    assert_eq!(probe.lock().unwrap().last_write, Some((0, 8, vec![1, 2])));
    // Reset moves it back (and says so) and turns decoding off.
    bus.reset();
    assert_eq!(moves.0.lock().unwrap().len(), 2);
    assert!(!bus.mmio_read(0xc000_0000, &mut d));
    assert_eq!(io.read(1, 0, 0x10, 4), 0xc000_0000);
}

#[test]
fn capability_walk_as_linux_does() {
    let (_, mut io, _, _) = setup();
    // pci_find_capability: status bit 4, then byte reads of the chain from 0x34.
    assert_ne!(io.read(1, 0, 0x06, 2) & 0x10, 0);
    let mut pos = io.read(1, 0, 0x34, 1) as u8;
    let mut found = Vec::new();
    let mut ttl = 48;
    while pos >= 0x40 && ttl > 0 {
        pos &= !3;
        let id = io.read(1, 0, pos, 1) as u8;
        found.push((pos, id));
        pos = io.read(1, 0, pos + 1, 1) as u8;
        ttl -= 1;
    }
    assert_eq!(found, vec![(0x40, 0x09), (0x44, 0x05)]);
    assert_eq!(io.read(1, 0, 0x42, 2), 0xaa04);
}

#[test]
fn slot_allocation_and_qemu_errors() {
    let mut bus = PciBus::new();
    let dev = || -> Arc<Mutex<dyn PciDevice>> { Arc::new(Mutex::new(Probe::new(0xc000_0000))) };
    // QEMU pc's built-in PIIX functions, so the first free slot is 2 as under QEMU.
    let piix = PciFunctionInfo {
        type_name: "PIIX3",
        id: None,
        multifunction: true,
    };
    bus.add_placeholder(PciDevfn::new(1, 0).unwrap(), piix)
        .unwrap();
    bus.add_placeholder(PciDevfn::new(1, 1).unwrap(), info("piix3-ide"))
        .unwrap();
    let named = PciFunctionInfo {
        type_name: "virtio-balloon-pci",
        id: Some("b0"),
        multifunction: false,
    };
    assert_eq!(
        bus.add_device(None, named, dev()).unwrap(),
        PciDevfn::new(2, 0).unwrap()
    );
    let err = |bus: &mut PciBus, at: (u8, u8), mf: bool| {
        let i = PciFunctionInfo {
            type_name: "virtio-balloon-pci",
            id: Some("b1"),
            multifunction: mf,
        };
        bus.add_device(PciDevfn::new(at.0, at.1), i, dev())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(&mut bus, (0, 0), false),
        "PCI: slot 0 function 0 not available for virtio-balloon-pci, in use by i440FX,id=(null)"
    );
    assert_eq!(
        err(&mut bus, (1, 1), false),
        "PCI: slot 1 function 1 not available for virtio-balloon-pci, in use by piix3-ide,id=(null)"
    );
    assert_eq!(
        err(&mut bus, (2, 0), false),
        "PCI: slot 2 function 0 not available for virtio-balloon-pci, in use by virtio-balloon-pci,id=b0"
    );
    assert_eq!(
        err(&mut bus, (2, 1), false),
        "PCI: single function device can't be populated in function 2.1"
    );
    bus.add_device(PciDevfn::new(0x1a, 1), info("x"), dev())
        .unwrap();
    assert_eq!(
        err(&mut bus, (0x1a, 0), false),
        "PCI: 1a.0 indicates single function, but 1a.1 is already populated."
    );
    bus.add_device(PciDevfn::new(0x1a, 0), info("mf"), dev())
        .map(|_| ())
        .unwrap_err();
    let mf = PciFunctionInfo {
        type_name: "mf",
        id: None,
        multifunction: true,
    };
    bus.add_device(PciDevfn::new(0x1a, 0), mf, dev()).unwrap();
    // Fill the rest, then run out.
    for _ in 0..28 {
        bus.add_device(None, info("fill"), dev()).unwrap();
    }
    assert_eq!(
        bus.add_device(None, info("y"), dev())
            .unwrap_err()
            .to_string(),
        "PCI: no slot/function available for y, all in use or reserved"
    );
    let listed: Vec<_> = bus.functions().iter().map(|f| f.devfn.raw()).collect();
    assert_eq!(listed.len(), 34);
}
