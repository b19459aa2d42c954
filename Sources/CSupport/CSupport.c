// The prefetch is static inline in the header; the huge-page mapping lives here.
#include "CSupport.h"

#include <stdint.h>
#include <sys/mman.h>

static const size_t huge_page = (size_t)2 << 20;

static size_t round_to_huge(size_t bytes) { return (bytes + huge_page - 1) & ~(huge_page - 1); }

void *lvs_map_huge(size_t bytes, int *huge) {
    size_t length = round_to_huge(bytes);
    // Over-map by one huge page so a 2 MiB-aligned start exists, then give back both ends.
    uint8_t *raw = mmap(NULL, length + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uint8_t *start = (uint8_t *)(((uintptr_t)raw + huge_page - 1) & ~(uintptr_t)(huge_page - 1));
    if (start > raw) munmap(raw, (size_t)(start - raw));
    size_t tail = (size_t)(raw + length + huge_page - (start + length));
    if (tail > 0) munmap(start + length, tail);
    *huge = madvise(start, length, MADV_HUGEPAGE) == 0;
    return start;
}

void lvs_unmap_huge(void *address, size_t bytes) { munmap(address, round_to_huge(bytes)); }
