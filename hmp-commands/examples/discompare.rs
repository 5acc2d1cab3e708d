//! Compares our disassembly with a QEMU dump: discompare MEM.bin BASE QEMU.txt
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let mem = std::fs::read(&a[1]).unwrap();
    let base = u64::from_str_radix(a[2].trim_start_matches("0x"), 16).unwrap();
    let qemu = std::fs::read_to_string(&a[3])
        .unwrap()
        .replace("\r\n", "\n");
    let n = qemu.lines().filter(|l| l.len() > 36).count();
    let mut read = |addr: u64, buf: &mut [u8]| {
        let off = (addr - base) as usize;
        if off + buf.len() > mem.len() {
            buf.fill(0);
            return false;
        }
        buf.copy_from_slice(&mem[off..off + buf.len()]);
        true
    };
    let ours =
        hmp_commands::disas::disassemble(&mut read, base, n, hmp_commands::disas::CodeSize::Bits64);
    let mut bad = 0;
    let mut shown = 0;
    for (q, o) in qemu.lines().zip(ours.lines()) {
        if q != o {
            bad += 1;
            if shown < 60 {
                println!("Q {q}\nO {o}");
                shown += 1;
            }
        }
    }
    println!("{bad} of {} lines differ", qemu.lines().count());
}
