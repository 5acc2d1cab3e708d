//! A static whose users guarantee exclusive access themselves (one CPU, interrupts off).

use core::cell::UnsafeCell;

pub struct Global<T>(UnsafeCell<T>);

// SAFETY: every user documents why its accesses cannot overlap.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub const fn new(value: T) -> Global<T> {
        Global(UnsafeCell::new(value))
    }

    /// # Safety
    /// No other reference to the value may be live (single CPU, interrupts off).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        &mut *self.0.get()
    }
}

impl<T, const N: usize> Global<[T; N]> {
    /// Element `i` of an array whose elements are each owned by one CPU.
    pub fn element(&self, i: usize) -> *mut T {
        assert!(i < N);
        // SAFETY: in bounds.
        unsafe { self.0.get().cast::<T>().add(i) }
    }
}
