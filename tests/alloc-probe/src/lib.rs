//! A global allocator that counts the bytes live now and the peak since the last reset, for
//! tests that must show a piece of code never holds more than some amount of memory, and the
//! number of allocations made (`allocations`), for tests that count them per operation.
//!
//! ```text
//! #[global_allocator]
//! static PROBE: kvdb_alloc_probe::Probe = kvdb_alloc_probe::Probe::new();
//!
//! let base = PROBE.reset_peak();
//! work();
//! let peak_over_base = PROBE.peak() - base;
//! ```
//!
//! The counts are process-wide: measure in a test binary that runs one measurement at a time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting live and peak bytes.
#[derive(Debug)]
pub struct Probe {
    live: AtomicUsize,
    peak: AtomicUsize,
    allocations: AtomicUsize,
}

impl Probe {
    /// A probe with nothing counted.
    pub const fn new() -> Self {
        Probe {
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            allocations: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated and not yet freed.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// The most bytes live at once since the last [`reset_peak`](Self::reset_peak).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Starts a new peak measurement from the bytes live now; returns them.
    pub fn reset_peak(&self) -> usize {
        let live = self.live();
        self.peak.store(live, Ordering::SeqCst);
        live
    }

    /// How many allocations (`alloc`, `alloc_zeroed`, `realloc`) were made since the
    /// process started: take the difference around the code measured.
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::SeqCst)
    }

    fn grew(&self, by: usize) {
        self.allocations.fetch_add(1, Ordering::SeqCst);
        let now = self.live.fetch_add(by, Ordering::SeqCst) + by;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn shrank(&self, by: usize) {
        self.live.fetch_sub(by, Ordering::SeqCst);
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the probe only counts sizes.
unsafe impl GlobalAlloc for Probe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (through this probe).
        unsafe { System.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as a move (new block, then the old one freed), so that the peak
            // includes the moment both exist: an overestimate when it grew in place.
            self.grew(new_size);
            self.shrank(layout.size());
        }
        p
    }
}
