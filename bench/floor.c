/*
 * floor.c - the speed floor for offline capture reading.
 *
 * A bare libpcap read loop: pcap_open_offline + pcap_next_ex, counting
 * packets and nothing else. Any program that reads a capture with libpcap
 * and does real work per packet cannot be faster than this, so
 * bench/run.sh reports darkstat-capd's time as a multiple of it.
 *
 * libpcap's savefile reader already copies every record into its own
 * buffer (fread), so the packet bytes are in cache when the loop sees them;
 * the loop itself only reads the record header.
 *
 * Build: cc -O2 bench/floor.c -lpcap -o bench/out/floor
 * Usage: floor FILE        prints "packets N bytes M" (M = sum of caplen)
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	errbuf[0] = '\0';
	p = pcap_open_offline(argv[1], errbuf);
	if (p == NULL) {
		fprintf(stderr, "floor: %s\n", errbuf);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
		packets++;
		bytes += hdr->caplen;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "floor: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("packets %llu bytes %llu\n",
	       (unsigned long long)packets, (unsigned long long)bytes);
	return 0;
}
