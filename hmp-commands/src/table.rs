//! QEMU 10's HMP command table (`help`) and `info` table (`help info`) for an x86 `pc`
//! machine: names with `|`-separated aliases, `args_type`, the parameter synopsis `help`
//! prints, and a one-line description (our own words).

/// One HMP command.
#[derive(Debug)]
pub struct Cmd {
    /// Name and aliases, `|`-separated (`stop|s`).
    pub name: &'static str,
    /// QEMU's `args_type`.
    pub args_type: &'static str,
    /// The synopsis `help` prints.
    pub params: &'static str,
    pub help: &'static str,
    /// For `info`: its subcommands.
    pub sub_table: Option<&'static [Cmd]>,
}

const fn c(
    name: &'static str,
    args_type: &'static str,
    params: &'static str,
    help: &'static str,
) -> Cmd {
    Cmd {
        name,
        args_type,
        params,
        help,
        sub_table: None,
    }
}

impl Cmd {
    /// The command's primary name (before any `|`).
    pub fn primary(&self) -> &'static str {
        self.name.split('|').next().unwrap_or(self.name)
    }

    /// Whether `name` is this command's name or one of its aliases.
    pub fn matches(&self, name: &str) -> bool {
        self.name.split('|').any(|n| n == name)
    }
}

/// Looks `name` up in `table`.
pub fn find(table: &'static [Cmd], name: &str) -> Option<&'static Cmd> {
    table.iter().find(|c| c.matches(name))
}

/// Top-level commands, in `help` order (sorted by name as QEMU sorts them).
pub static COMMANDS: &[Cmd] = &[
    c("announce_self", "interfaces:s?,id:s?", "[interfaces] [id]", "send gratuitous ARP/RARP packets for the guest's NICs"),
    c("balloon", "value:M", "target", "ask the guest to resize its memory to 'target' MiB"),
    c("block_job_cancel", "force:-f,device:B", "[-f] device", "cancel a background block job (-f: stop at once instead of\n\t\t\t finishing the current synchronisation)"),
    c("block_job_complete", "device:B", "device", "ask a background block job to complete"),
    c("block_job_pause", "device:B", "device", "pause a background block job"),
    c("block_job_resume", "device:B", "device", "resume a paused background block job"),
    c("block_job_set_speed", "device:B,speed:o", "device speed", "limit the speed of a background block job"),
    c("block_resize", "device:B,size:o", "device size", "change the size of a block image"),
    c("block_set_io_throttle", "device:B,bps:l,bps_rd:l,bps_wr:l,iops:l,iops_rd:l,iops_wr:l", "device bps bps_rd bps_wr iops iops_rd iops_wr", "set I/O limits of a block device"),
    c("block_stream", "device:B,speed:o?,base:s?", "device [speed [base]]", "pull data from backing files into a block device"),
    c("boot_set", "bootdevice:s", "bootdevice", "change the boot device order"),
    c("calc_dirty_rate", "dirty_ring:-r,dirty_bitmap:-b,second:l,sample_pages_per_GB:l?", "[-r] [-b] second [sample_pages_per_GB]", "measure the guest's page dirtying rate (-r: with the dirty ring,\n\t\t\t -b: with the dirty bitmap)"),
    c("cancel_vcpu_dirty_limit", "cpu_index:l?", "[cpu_index]", "remove the dirty page rate limit (of one vCPU, or all)"),
    c("change", "device:B,force:-f,target:F,arg:s?,read-only-mode:s?", "device [-f] filename [format [read-only-mode]]", "insert another medium into a removable drive (-f: even if locked)"),
    c("chardev-add", "args:s", "args", "create a character device"),
    c("chardev-change", "id:s,args:s", "id args", "replace the backend of a character device"),
    c("chardev-remove", "id:s", "id", "delete a character device"),
    c("chardev-send-break", "id:s", "id", "send a break condition on a character device"),
    c("client_migrate_info", "protocol:s,hostname:s,port:i?,tls-port:i?,cert-subject:s?", "protocol hostname port tls-port cert-subject", "tell remote display clients where the VM migrates to"),
    c("closefd", "fdname:s", "closefd name", "close a descriptor received with getfd"),
    c("commit", "device:B", "device|all", "write a snapshot overlay or backing chain back into its base"),
    c("cont|c", "", "", "let the vCPUs run again"),
    c("cpu", "index:i", "index", "choose the CPU that later commands use by default"),
    c("delvm", "name:s", "tag", "remove the VM snapshot named 'tag'"),
    c("device_add", "device:O", "driver[,prop=value][,...]", "create a device, as -device does"),
    c("device_del", "id:s", "device", "unplug a device"),
    c("drive_add", "node:-n,pci_addr:s,opts:s", "[-n] [[<domain>:]<bus>:]<slot>\n[file=file][,if=type][,bus=n]\n[,unit=m][,media=d][,index=i]\n[,snapshot=on|off][,cache=on|off]\n[,readonly=on|off][,copy-on-read=on|off]", "attach a drive to a storage controller"),
    c("drive_backup", "reuse:-n,full:-f,compress:-c,device:B,target:s,format:s?", "[-n] [-f] [-c] device target [format]", "copy a point-in-time image of a device to 'target'\n\t\t\t(-n: use an existing target image, -f: copy everything\n\t\t\tinstead of new data only, -c: compress if possible)"),
    c("drive_del", "id:B", "device", "detach the host side of a drive"),
    c("drive_mirror", "reuse:-n,full:-f,device:B,target:s,format:s?", "[-n] [-f] device target [format]", "mirror a device to 'target' while it is used\n\t\t\t(-n: use an existing target image, -f: copy the whole\n\t\t\tdisk, not only the top image)"),
    c("dump-guest-memory", "paging:-p,detach:-d,windmp:-w,zlib:-z,lzo:-l,snappy:-s,raw:-R,filename:F,begin:l?,length:l?", "[-p] [-d] [-z|-l|-s|-w] [-R] filename [begin length]", "write guest memory to 'filename' as an ELF core.\n\t\t\t-p: follow the guest's page tables.\n\t\t\t-d: return before the dump is finished.\n\t\t\t-z, -l, -s: kdump format compressed with zlib, lzo or snappy.\n\t\t\t-R: raw kdump instead of the flattened form.\n\t\t\t-w: Windows crash dump format.\n\t\t\tbegin, length: the guest-physical range to write."),
    c("dumpdtb", "filename:F", "filename", "write the flattened device tree to 'filename'"),
    c("eject", "force:-f,device:B", "[-f] device", "take the medium out of a removable drive (-f: even if locked)"),
    c("exit_preconfig", "", "", "leave the preconfig state and create the machine"),
    c("expire_password", "protocol:s,time:s,display:-ds", "protocol time [-d display]", "set when the remote display password stops working"),
    c("gdbserver", "device:s?", "[device]", "start a GDB stub on a chardev (default tcp::1234; 'none' stops it)"),
    c("getfd", "fdname:s", "getfd name", "keep a descriptor passed with SCM_RIGHTS under 'name'"),
    c("gpa2hpa", "addr:l", "addr", "show the host physical address of a guest physical address"),
    c("gpa2hva", "addr:l", "addr", "show the host virtual address of a guest physical address"),
    c("gva2gpa", "addr:l", "addr", "translate a guest virtual address with the current CPU's page tables"),
    c("help|?", "name:S?", "[cmd]", "list the commands, or describe one"),
    c("hostfwd_add", "arg1:s,arg2:s?", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport", "forward a host port to the guest (user networking)"),
    c("hostfwd_remove", "arg1:s,arg2:s?", "[netdev_id] [tcp|udp]:[hostaddr]:hostport", "stop forwarding a host port (user networking)"),
    c("i", "fmt:/,addr:i,index:i.", "/fmt addr", "read an I/O port"),
    Cmd {
        name: "info",
        args_type: "item:s?",
        params: "[subcommand]",
        help: "show information about the machine and its state",
        sub_table: Some(INFO_COMMANDS),
    },
    c("loadvm", "name:s", "tag", "restore the VM snapshot named 'tag'"),
    c("log", "items:s", "item1[,...]", "enable the given log categories"),
    c("logfile", "filename:F", "filename", "send log output to 'filename'"),
    c("mce", "broadcast:-b,cpu_index:i,bank:i,status:l,mcg_status:l,addr:l,misc:l", "[-b] cpu bank status mcgstatus addr misc", "inject a machine check into a CPU (-b: and broadcast it to all CPUs)"),
    c("memsave", "val:l,size:i,filename:s", "addr size file", "write 'size' bytes of guest virtual memory from 'addr' to a file"),
    c("migrate", "detach:-d,resume:-r,uri:s", "[-d] [-r] uri", "migrate the VM to 'uri' (-d: do not wait for the end,\n\t\t\t -r: resume a paused postcopy migration)"),
    c("migrate_cancel", "", "", "abort the migration in progress"),
    c("migrate_continue", "state:s", "state", "resume a migration paused in 'state'"),
    c("migrate_incoming", "uri:s", "uri", "start receiving a migration deferred with -incoming defer"),
    c("migrate_pause", "", "", "pause a postcopy migration"),
    c("migrate_recover", "uri:s", "uri", "resume a paused incoming postcopy migration from 'uri'"),
    c("migrate_set_capability", "capability:s,state:b", "capability state", "turn a migration capability on or off"),
    c("migrate_set_parameter", "parameter:s,value:s", "parameter value", "change a migration parameter"),
    c("migrate_start_postcopy", "", "", "switch the running migration to postcopy (the postcopy-ram capability must be on at both ends)"),
    c("mouse_button", "button_state:i", "state", "set the mouse buttons (1=left, 2=middle, 4=right)"),
    c("mouse_move", "dx_str:s,dy_str:s,dz_str:s?", "dx dy [dz]", "move the mouse (dz: wheel)"),
    c("mouse_set", "index:i", "index", "choose the mouse that receives events"),
    c("nbd_server_add", "writable:-w,device:B,name:s?", "nbd_server_add [-w] device [name]", "export a block device over NBD"),
    c("nbd_server_remove", "force:-f,name:s", "nbd_server_remove [-f] name", "stop exporting a device over NBD"),
    c("nbd_server_start", "all:-a,writable:-w,uri:s", "nbd_server_start [-a] [-w] host:port", "start the NBD server"),
    c("nbd_server_stop", "", "nbd_server_stop", "stop the NBD server"),
    c("netdev_add", "netdev:O", "[user|tap|socket|stream|dgram|vde|bridge|hubport|netmap|vhost-user],id=str[,prop=value][,...]", "create a network backend"),
    c("netdev_del", "id:s", "id", "delete a network backend"),
    c("nmi", "", "", "send a non-maskable interrupt"),
    c("o", "fmt:/,addr:i,val:i", "/fmt addr value", "write an I/O port"),
    c("object_add", "object:S", "[qom-type=]type,id=str[,prop=value][,...]", "create a user object"),
    c("object_del", "id:s", "id", "delete a user object"),
    c("one-insn-per-tb", "option:s?", "[on|off]", "translate one guest instruction per block (TCG only)"),
    c("pcie_aer_inject_error", "advisory_non_fatal:-a,correctable:-c,id:s,error_status:s,header0:i?,header1:i?,header2:i?,header3:i?,prefix0:i?,prefix1:i?,prefix2:i?,prefix3:i?", "[-a] [-c] id <error_status> [<tlp header> [<tlp header prefix>]]", "inject a PCIe AER error into a device\n\t\t\t -a: advisory non-fatal, -c: correctable\n\t\t\t<error_status>: a name or a 32-bit value\n\t\t\t<tlp header>, <tlp header prefix>: four 32-bit words each"),
    c("pmemsave", "val:l,size:i,filename:s", "addr size file", "write 'size' bytes of guest physical memory from 'addr' to a file"),
    c("print|p", "fmt:/,val:l", "/fmt expr", "evaluate an expression ($reg reads a CPU register)"),
    c("qemu-io", "qdev:-d,device:B,command:s", "[-d] [device] \"[command]\"", "run a qemu-io command on a block device\n\t\t\t-d: 'device' names a device, not a drive or node"),
    c("qom-get", "path:s,property:s", "path property", "show a QOM property's value"),
    c("qom-list", "path:s?", "path", "list the properties of a QOM object"),
    c("qom-set", "json:-j,path:s,property:s,value:S", "[-j] path property value", "change a QOM property.\n\t\t\t-j: 'value' is JSON."),
    c("quit|q", "", "", "end the VM and exit"),
    c("replay_break", "icount:l", "icount", "stop replay at instruction count 'icount'"),
    c("replay_delete_break", "", "", "delete the replay breakpoint"),
    c("replay_seek", "icount:l", "icount", "move the replay to instruction count 'icount'"),
    c("ringbuf_read", "device:s,size:i", "device size", "read up to 'size' bytes from a ring buffer chardev"),
    c("ringbuf_write", "device:s,data:s", "device data", "append data to a ring buffer chardev"),
    c("savevm", "name:s?", "tag", "take a VM snapshot (named 'tag', or a new name)"),
    c("screendump", "filename:F,format:-fs,device:s?,head:i?", "filename [-f format] [device [head]]", "save a display's picture to 'filename' (png or ppm)"),
    c("sendkey", "keys:s,hold-time:i?", "keys [hold_ms]", "press keys on the guest keyboard, e.g. ctrl-alt-f1 (held 100 ms by default)"),
    c("set_link", "name:s,up:b", "name on|off", "bring a network link up or down"),
    c("set_password", "protocol:s,password:s,display:-ds,connected:s?", "protocol password [-d display] [action-if-connected]", "change the remote display password"),
    c("set_vcpu_dirty_limit", "dirty_rate:l,cpu_index:l?", "dirty_rate [cpu_index]", "limit the page dirtying rate (of one vCPU, or all)"),
    c("snapshot_blkdev", "reuse:-n,device:B,snapshot-file:s?,format:s?", "[-n] device [new-image-file] [format]", "put a new overlay image on top of a device\n\t\t\t(-n: use an existing image; format qcow2 by default)"),
    c("snapshot_blkdev_internal", "device:B,name:s", "device name", "take an internal snapshot inside a device's image (qcow2)"),
    c("snapshot_delete_blkdev_internal", "device:B,name:s,id:s?", "device name [id]", "delete an internal snapshot of a device's image"),
    c("stopcapture", "n:i", "capture index", "end an audio capture"),
    c("stop|s", "", "", "pause the vCPUs"),
    c("sum", "start:i,size:i", "addr size", "checksum a guest physical memory range"),
    c("sync-profile", "op:s?", "[on|off|reset]", "control lock contention profiling (no argument: show whether it is on)"),
    c("system_powerdown", "", "", "press the ACPI power button"),
    c("system_reset", "", "", "reset the machine"),
    c("system_wakeup", "", "", "wake a suspended guest"),
    c("trace-event", "name:s,option:b,vcpu:i?", "name on|off [vcpu]", "enable or disable trace events matching 'name'"),
    c("watchdog_action", "action:s", "[reset|shutdown|poweroff|pause|debug|none|inject-nmi]", "choose what a watchdog expiry does"),
    c("wavcapture", "path:F,audiodev:s,freq:i?,bits:i?,nchannels:i?", "path audiodev [frequency [bits [channels]]]", "record an audio backend to a WAV file (defaults: 44100 Hz, 16 bits, 2 channels)"),
    c("x", "fmt:/,addr:l", "/fmt addr", "dump guest virtual memory at 'addr'"),
    c("x_colo_lost_heartbeat", "", "", "tell COLO the peer is gone, so it fails over"),
    c("xen-event-inject", "port:i", "port", "signal a Xen event channel port"),
    c("xen-event-list", "", "", "list the Xen event channels"),
    c("xp", "fmt:/,addr:l", "/fmt addr", "dump guest physical memory at 'addr'"),
];

/// `info` subcommands, in `help info` order.
pub static INFO_COMMANDS: &[Cmd] = &[
    c("balloon", "", "", "show the balloon's current guest size"),
    c("block", "nodes:-n,verbose:-v,device:B?", "[-n] [-v] [device]", "show block devices (-n: named nodes too; -v: all details)"),
    c("block-jobs", "", "", "show the background block jobs"),
    c("blockstats", "", "", "show I/O statistics of the block devices"),
    c("capture", "", "", "show the audio captures"),
    c("chardev", "", "", "list the character devices"),
    c("cpus", "", "", "list the vCPUs and their host threads"),
    c("cryptodev", "", "", "list the crypto backends"),
    c("dirty_rate", "", "", "show the last dirty rate measurement"),
    c("dump", "", "", "show the progress of dump-guest-memory"),
    c("history", "", "", "show this monitor's command history"),
    c("hotpluggable-cpus", "", "", "list the CPU slots and what fills them"),
    c("iothreads", "", "", "list the I/O threads"),
    c("irq", "", "", "show interrupt counts, where the controllers keep them"),
    c("jit", "", "", "show translator statistics (TCG only)"),
    c("kvm", "", "", "show whether KVM is in use"),
    c("lapic", "apic-id:i?", "[apic-id]", "show a local APIC's registers (default: the current CPU's)"),
    c("mem", "", "", "show the current CPU's virtual address ranges and their protection"),
    c("memdev", "", "", "list the memory backends"),
    c("memory-devices", "", "", "list the memory devices (DIMMs, virtio-mem, ...)"),
    c("memory_size_summary", "", "", "show boot and hotplugged memory sizes in bytes."),
    c("mice", "", "", "list the mice and which one is active"),
    c("migrate", "", "", "show the migration status"),
    c("migrate_capabilities", "", "", "show the migration capabilities"),
    c("migrate_parameters", "", "", "show the migration parameters"),
    c("mtree", "flatview:-f,dispatch_tree:-d,owner:-o,disabled:-D", "[-f][-d][-o][-D]", "show the memory region tree (-f: flat views per address space;-d: with dispatch trees, needs -f);-o: owners of the regions;-D: disabled regions too"),
    c("name", "", "", "show the VM's name"),
    c("network", "", "", "show the network backends and NICs"),
    c("numa", "", "", "show the NUMA nodes"),
    c("opcount", "", "", "show translator opcode counts (TCG only)"),
    c("pci", "", "", "list the PCI devices"),
    c("pic", "", "", "show the interrupt controllers' state"),
    c("qdm", "", "", "list the device models"),
    c("qom-tree", "path:s?", "[path]", "show the QOM object tree"),
    c("qtree", "brief:-b", "[-b]", "show the device tree (-b: without properties)"),
    c("ramblock", "", "", "list the RAM blocks"),
    c("registers", "cpustate_all:-a,vcpu:i?", "[-a|vcpu]", "show CPU registers (-a: every CPU; vcpu: that CPU; default: the current CPU)"),
    c("replay", "", "", "show the record/replay state"),
    c("rocker", "name:s", "name", "show a rocker switch"),
    c("rocker-of-dpa-flows", "name:s,tbl_id:i?", "name [tbl_id]", "show a rocker switch's OF-DPA flows"),
    c("rocker-of-dpa-groups", "name:s,type:i?", "name [type]", "show a rocker switch's OF-DPA groups"),
    c("rocker-ports", "name:s", "name", "show a rocker switch's ports"),
    c("roms", "", "", "list the loaded ROM and firmware images"),
    c("sev", "", "", "show the AMD SEV state"),
    c("sgx", "", "", "show the Intel SGX state"),
    c("snapshots", "", "", "list the VM snapshots"),
    c("spice", "", "", "show the SPICE server state"),
    c("stats", "target:s,names:s?,provider:s?", "target [names] [provider]", "show accelerator statistics of 'vm' or 'vcpu' (names: a comma-separated filter or *; provider: only that one)"),
    c("status", "", "", "show whether the VM runs (running|paused)"),
    c("sync-profile", "mean:-m,no_coalesce:-n,max:i?", "[-m] [-n] [max]", "show lock contention, worst 'max' entries (default 10) by total wait (-m: by mean wait; -n: each object separately)"),
    c("tlb", "", "", "show the current CPU's page mappings"),
    c("tpm", "", "", "show the TPM devices"),
    c("trace-events", "name:s?,vcpu:i?", "[name] [vcpu]", "list trace events and whether they are on (name: a pattern; vcpu: for that vCPU)"),
    c("usb", "", "", "list the guest's USB devices"),
    c("usbhost", "", "", "list the host's USB devices"),
    c("usernet", "", "", "show user networking connections"),
    c("uuid", "", "", "show the VM's UUID"),
    c("vcpu_dirty_limit", "", "", "show the vCPUs' dirty page rate limits"),
    c("version", "", "", "show the QEMU version"),
    c("virtio", "", "", "list the virtio devices"),
    c("virtio-queue-element", "path:s,queue:i,index:i?", "path queue [index]", "show an element of a virtio queue"),
    c("virtio-queue-status", "path:s,queue:i", "path queue", "show a virtio queue's state"),
    c("virtio-status", "path:s", "path", "show a virtio device's state"),
    c("virtio-vhost-queue-status", "path:s,queue:i", "path queue", "show a vhost queue's state"),
    c("vm-generation-id", "", "", "show the VM generation ID"),
    c("vnc", "", "", "show the VNC server state"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_like_qemus_help() {
        for table in [COMMANDS, INFO_COMMANDS] {
            for pair in table.windows(2) {
                assert!(
                    pair[0].name < pair[1].name,
                    "{} / {}",
                    pair[0].name,
                    pair[1].name
                );
            }
        }
    }

    #[test]
    fn aliases() {
        assert_eq!(find(COMMANDS, "c").map(Cmd::primary), Some("cont"));
        assert_eq!(find(COMMANDS, "s").map(Cmd::primary), Some("stop"));
        assert_eq!(find(COMMANDS, "q").map(Cmd::primary), Some("quit"));
        assert_eq!(find(COMMANDS, "p").map(Cmd::primary), Some("print"));
        assert_eq!(find(COMMANDS, "?").map(Cmd::primary), Some("help"));
        assert!(find(COMMANDS, "cont|c").is_none());
        assert_eq!(COMMANDS.len(), 110);
        assert_eq!(INFO_COMMANDS.len(), 66);
    }
}
