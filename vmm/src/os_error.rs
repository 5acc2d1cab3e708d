//! OS errors as QEMU prints them: `strerror()` text, without the " (os error N)" Rust appends.

use std::io;

/// `strerror()` text of an I/O error.
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `strerror()` text of a failed KVM ioctl or open.
pub fn kvm_strerror(e: &kvm_ioctls::Error) -> String {
    strerror(&io::Error::from_raw_os_error(e.errno()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_errno_suffix() {
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(libc::ENOENT)),
            "No such file or directory"
        );
        assert_eq!(
            kvm_strerror(&kvm_ioctls::Error::new(libc::EACCES)),
            "Permission denied"
        );
    }
}
