/*
 * jemalloc_conf.c — jemalloc options of every Reconnu binary (linked in by
 * reconnu_executable when jemalloc is).
 *
 * thp:always asks for transparent huge pages on jemalloc's memory
 * (madvise MADV_HUGEPAGE; the system's THP mode "madvise" honours it).
 * The engine holds a large, long-lived heap that is filled fast — a bulk
 * load, a snapshot load at start — and on a VM each 4 KiB page fault
 * costs microseconds: loading a snapshot of 100k records took 26k page
 * faults, a third of its time, and 1.2k with huge pages. The price is a
 * few percent more resident memory. MALLOC_CONF in the environment still
 * overrides it (e.g. MALLOC_CONF=thp:default).
 */
const char *malloc_conf = "thp:always,metadata_thp:auto";
