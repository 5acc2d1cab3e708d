//! Command line errors and warnings, worded exactly as QEMU 10.0 words them.
//!
//! QEMU prints `<program>: [<location>: ]<message>` where the location is the offending option
//! (`-m foo`) when the error is found while that option is being processed, and nothing when it is
//! found later (after the whole command line was read). [`OptionsError`] carries that choice;
//! [`ErrorKind`] is the message itself. Some messages carry a hint: further lines that QEMU prints
//! without the program name, and so does our `Display`.

use std::fmt;

/// A fatal command line error. `Display` is QEMU's text without the leading `vmm: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Reported with the offending option as location, e.g. `-m foo: Parameter 'size' ...`.
    #[error("{location}: {kind}")]
    At { location: String, kind: ErrorKind },
    /// Reported without a location (QEMU found it after reading the whole command line).
    #[error("{0}")]
    Plain(ErrorKind),
}

impl OptionsError {
    pub fn at(location: &str, kind: ErrorKind) -> Self {
        OptionsError::At {
            location: location.to_string(),
            kind,
        }
    }

    /// The message without location.
    pub fn kind(&self) -> &ErrorKind {
        match self {
            OptionsError::At { kind, .. } | OptionsError::Plain(kind) => kind,
        }
    }
}

const SIZE_HINT: &str = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, \
                         peta-\nand exabytes, respectively.";
const ID_HINT: &str =
    "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

/// The message of an error or of a non-fatal error line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    // --- option table (system/vl.c lookup_opt) ---
    #[error("invalid option")]
    InvalidOption,
    #[error("requires an argument")]
    RequiresArgument,
    #[error("Option not supported for this target")]
    NotSupportedForTarget,
    #[error("Option not supported in this build")]
    NotSupportedInBuild,

    // --- QemuOpts, keyval and the QAPI visitors ---
    #[error("Invalid parameter '{name}'")]
    InvalidParameter { name: String },
    #[error("Parameter '{name}' expects {expected}")]
    ParameterExpects { name: String, expected: String },
    /// A QemuOpts size that does not parse (with QEMU's suffix hint).
    #[error("Parameter '{name}' expects a non-negative number below 2^64\n{SIZE_HINT}")]
    SizeExpected { name: String },
    #[error("Value '{value}' is out of range for parameter '{name}'")]
    ValueOutOfRange { value: String, name: String },
    #[error("Value '{value}' is too large for parameter '{name}'")]
    ValueTooLarge { value: String, name: String },
    #[error("Parameter 'id' expects an identifier\n{ID_HINT}")]
    IdExpected,
    #[error("Duplicate ID '{id}' for {list}")]
    DuplicateId { id: String, list: String },
    #[error("Parameter '{name}' is missing")]
    ParameterMissing { name: String },
    #[error("Parameter '{name}' is unexpected")]
    ParameterUnexpected { name: String },
    #[error("Parameter '{name}' does not accept value '{value}'")]
    DoesNotAcceptValue { name: String, value: String },
    #[error("Invalid parameter type for '{name}', expected: {expected}")]
    InvalidParameterType { name: String, expected: String },
    #[error("Expected '=' after parameter '{key}'")]
    ExpectedEquals { key: String },
    #[error("Parameter{} '{name}' is too long", if *fragment { " fragment" } else { "" })]
    ParameterTooLong { fragment: bool, name: String },
    #[error("Parameters '{key}' used inconsistently")]
    UsedInconsistently { key: String },
    #[error("Parameter '{key}' used inconsistently")]
    ParameterUsedInconsistently { key: String },
    #[error("Help is not available for this option")]
    HelpNotAvailable,
    #[error("Property '{type_name}.{name}' not found")]
    PropertyNotFound { type_name: String, name: String },
    /// A JSON syntax error; `prefixed` selects the "JSON parse error, " form.
    #[error("{}{message}", if *prefixed { "JSON parse error, " } else { "" })]
    Json { message: String, prefixed: bool },

    // --- machine, memory, CPUs ---
    #[error("unsupported machine type: \"{name}\"\nUse -machine help to list supported machines")]
    UnsupportedMachine { name: String },
    #[error("slots specified but no max-size")]
    SlotsWithoutMaxSize,
    #[error(
        "invalid value of maxmem: maximum memory size (0x{maxmem:x}) must be at least the \
         initial memory size (0x{size:x})"
    )]
    MaxmemBelowSize { maxmem: u64, size: u64 },
    #[error(
        "invalid value of maxmem: memory slots were specified but maximum memory size \
         (0x{maxmem:x}) is equal to the initial memory size (0x{size:x})"
    )]
    MaxmemEqualsSizeWithSlots { maxmem: u64, size: u64 },
    #[error("unsupported amount of memory slots: {slots}")]
    TooManyMemorySlots { slots: u64 },
    #[error("maximum memory size must by aligned to multiple of {align} bytes")]
    MaxmemAlignment { align: u64 },
    #[error("\"-memory 'slots|maxmem'\" is not supported by: {machine}")]
    MemoryHotplugUnsupported { machine: String },
    #[error("Machine memory size does not match the size of the memory backend")]
    MemorySizeMismatch,
    #[error("Conflict between '{old}' and '{new}'")]
    DashifyConflict { old: String, new: String },
    #[error("Memory backend '{id}' not found")]
    MemoryBackendNotFound { id: String },
    #[error("'-mem-path' can't be used together with'-machine memory-backend'")]
    MemPathWithMemoryBackend,
    #[error("Invalid CPU topology: CPU topology parameters must be greater than zero")]
    SmpZero,
    #[error("{level} > 1 not supported by this machine's CPU topology")]
    SmpLevelUnsupported { level: &'static str },
    #[error(
        "Invalid CPU topology: product of the hierarchy must match maxcpus: {topology} != \
         maxcpus ({maxcpus})"
    )]
    SmpProductMismatch { topology: String, maxcpus: u32 },
    #[error(
        "Invalid CPU topology: maxcpus must be equal to or greater than smp: {topology} == \
         maxcpus ({maxcpus}) < smp_cpus ({cpus})"
    )]
    SmpMaxcpusBelowCpus {
        topology: String,
        maxcpus: u32,
        cpus: u32,
    },
    #[error("Invalid SMP CPUs {cpus}. The max CPUs supported by machine '{machine}' is {max}")]
    SmpAboveMachineMax {
        cpus: i32,
        machine: String,
        max: u32,
    },
    #[error("-cpu option cannot be empty")]
    EmptyCpuOption,
    #[error("unable to find CPU model '{model}'")]
    UnknownCpuModel { model: String },
    #[error("invalid accelerator {name}")]
    InvalidAccelerator { name: String },
    #[error("The -accel and \"-machine accel=\" options are incompatible")]
    AccelOptionsIncompatible,
    #[error("no accelerator found")]
    NoAcceleratorFound,
    #[error("Could not access KVM kernel module: {reason}")]
    KvmModuleAccess { reason: String },
    #[error("failed to initialize kvm: {reason}")]
    KvmInitFailed { reason: String },
    #[error("falling back to {name}")]
    FallingBack { name: String },

    // --- kernel and misc ---
    /// `-cpu` on `none`: QEMU creates that CPU bare, and x86 CPUs need an APIC id from a board.
    #[error("apic-id property was not initialized properly")]
    CpuOnEmptyMachine,
    #[error("The -kernel parameter is not supported (use the generic 'loader' device instead).")]
    KernelOnEmptyMachine,
    #[error("-append only allowed with -kernel option")]
    AppendWithoutKernel,
    #[error("-initrd only allowed with -kernel option")]
    InitrdWithoutKernel,
    #[error("-shim only allowed with -kernel option")]
    ShimWithoutKernel,
    #[error("failed to parse UUID string: wrong format")]
    UuidFormat,
    #[error("-nographic cannot be used with -daemonize")]
    NographicWithDaemonize,
    #[error("OpenGL is not supported by display backend '{backend}'")]
    OpenGlUnsupported { backend: String },
    #[error("window-close is only valid for GTK and SDL, ignoring option")]
    WindowCloseIgnored,
    #[error("{name} not available")]
    VgaNotAvailable { name: &'static str },
    #[error("unknown vga type: {name}")]
    UnknownVga { name: String },
    #[error("invalid argument for {name}")]
    SandboxInvalidArgument { name: String },
    #[error("parameter 'mem-lock' expects one of 'on', 'off', 'on-fault'")]
    MemLockValue,
    #[error("Invalid boot device '{device}'")]
    InvalidBootDevice { device: char },
    #[error("Boot device '{device}' was given twice")]
    BootDeviceTwice { device: char },
    #[error("invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'")]
    RtcDatetimeFormat,
    #[error("invalid option value '{value}'")]
    RtcOptionValue { value: String },
    #[error("options 'driver', 'property', and 'value' are required")]
    GlobalRequired,
    #[error("can't parse: \"{text}\"")]
    GlobalParse { text: String },

    // --- drives (a plain disk image argument, -hda ...) ---
    #[error("Could not open '{path}': {reason}")]
    CouldNotOpen { path: String, reason: String },
    #[error("'file' driver requires '{path}' to be a regular file")]
    NotRegularFile { path: String },
    #[error("machine type does not support if={interface},bus={bus},unit={unit}")]
    NoDiskInterface {
        interface: &'static str,
        bus: u32,
        unit: u32,
    },

    // --- chardevs and monitors ---
    #[error("chardev: no id specified")]
    ChardevNoId,
    #[error("'{name}' is not a valid char driver name")]
    InvalidCharDriverName { name: String },
    #[error("'{name}' is not a valid char driver")]
    InvalidCharDriver { name: String },
    #[error("None or one of 'path', 'fd' or 'host' option required.")]
    SocketAddressConflict,
    #[error("chardev: socket: no port given")]
    SocketNoPort,
    #[error("chardev: file: no filename given")]
    FileNoFilename,
    #[error("Unable to parse FD number {text}")]
    UnableToParseFd { text: String },
    #[error("'delay' and 'nodelay' are mutually exclusive")]
    DelayNodelay,
    #[error("'wait' option is incompatible with socket in client connect mode")]
    WaitWithClient,
    #[error("'{name}' option is incompatible with socket in server listen mode")]
    ReconnectWithServer { name: String },
    #[error("chardev: \"{id}\" missing backend")]
    ChardevMissingBackend { id: String },
    #[error("address resolution failed for {host}:{port}: Servname not supported for ai_socktype")]
    BadPort { host: String, port: String },
    #[error("cannot use stdio by multiple character devices")]
    StdioInUse,
    #[error("chardev '{id}' is already in use")]
    ChardevInUse { id: String },
    #[error("too many uses of multiplexed chardev '{id}'")]
    MuxFull { id: String },
    #[error("cannot use stdio with -daemonize")]
    StdioWithDaemonize,
    #[error("could not connect serial device to character backend '{backend}'")]
    SerialConnect { backend: String },
    #[error("parse error: {text}")]
    MonitorParse { text: String },
    #[error("mon: isn't supported in this context")]
    MonNotSupportedHere,
    #[error("chardev \"{id}\" not found")]
    ChardevNotFound { id: String },
    #[error("'pretty' is not compatible with HMP monitors")]
    PrettyWithHmp,
    /// A chardev property we parse but do not implement, set to a non-default value.
    #[error("chardev: {backend}: '{name}' is not supported by this build")]
    ChardevPropertyUnsupported { backend: String, name: String },

    // --- objects and devices ---
    #[error("attempt to add duplicate property '{id}' to object (type 'container')")]
    DuplicateObject { id: String },
    #[error("Duplicate device ID '{id}'")]
    DuplicateDeviceId { id: String },
    #[error("Either 'file' or 'data' must be provided")]
    SecretNeedsData,
    #[error("{name} value must be in range [0, {max}]")]
    IothreadRange { name: String, max: i64 },
}

/// A non-fatal message QEMU prints while it goes on: a warning, or an error line followed by
/// another error. `Display` is the text after `vmm: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Option<String>,
    pub warning: bool,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        if self.warning {
            write!(f, "warning: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl Diagnostic {
    pub fn warning(location: Option<&str>, message: impl Into<String>) -> Self {
        Diagnostic {
            location: location.map(str::to_string),
            warning: true,
            message: message.into(),
        }
    }

    pub fn error(location: Option<&str>, kind: &ErrorKind) -> Self {
        Diagnostic {
            location: location.map(str::to_string),
            warning: false,
            message: kind.to_string(),
        }
    }
}
