/*
 * bench/memlat.c - what this machine's memory allows, to judge how close
 * the host-counting thread is to it (BENCHMARKS.md, "What limits the host
 * thread").
 *
 *   cc -O2 bench/memlat.c -o bench/out/memlat && bench/out/memlat 256
 *
 * Prints, for a table of MiB megabytes:
 *   - the latency of one access: a random pointer chase, each load waiting
 *     for the one before (what an unprefetched cache miss costs);
 *   - the cost per access of independent random read-modify-writes, each
 *     prefetched D accesses ahead (what a miss costs when as many as the
 *     core can track are in flight, as in capd's prefetch pipeline).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	size_t lines = mib * 1024 * 1024 / 64;
	if (lines < 2) {
		fprintf(stderr, "usage: memlat MiB (at least 1)\n");
		return 2;
	}
	/* one 64-byte line per slot; the first word of a line is used */
	uint64_t *a = aligned_alloc(64, lines * 64);
	size_t *order = malloc(lines * sizeof *order);
	if (!a || !order) {
		perror("memlat");
		return 1;
	}
	for (size_t i = 0; i < lines * 8; i++)
		a[i] = i;
	for (size_t i = 0; i < lines; i++)
		order[i] = i;
	uint64_t s = 88172645463325252ULL;
	for (size_t i = lines - 1; i > 0; i--) {
		size_t j = xorshift(&s) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* one cycle through every line, in random order */
	for (size_t i = 0; i < lines; i++)
		a[order[i] * 8] = order[(i + 1) % lines];
	free(order);

	size_t steps = 2000000, p = 0;
	double t0 = now();
	for (size_t i = 0; i < steps; i++)
		p = a[p * 8];
	double t1 = now();
	printf("%zu MiB: dependent random loads: %.1f ns each (end %zu)\n", mib,
	       (t1 - t0) / steps * 1e9, p);

	for (int d = 0; d <= 32; d += 8) {
		size_t ring[64] = {0}, n = 20000000;
		uint64_t x = 12345;
		t0 = now();
		for (size_t i = 0; i < n; i++) {
			size_t next = xorshift(&x) % lines;
			if (d == 0) {
				a[next * 8]++;
				continue;
			}
			__builtin_prefetch(&a[next * 8]);
			ring[i & 63] = next;
			if (i >= (size_t)d)
				a[ring[(i - d) & 63] * 8]++;
		}
		t1 = now();
		printf("%zu MiB: independent random increments, prefetched %2d ahead: %.1f ns each\n",
		       mib, d, (t1 - t0) / n * 1e9);
	}
	return 0;
}
