/* Test-only helper: czmq's zbeacon as an independent peer for tests/beacon_interop.rs.
 *
 *   zbeacon_peer publish PORT PAYLOAD MILLIS   publishes PAYLOAD every 100 ms for MILLIS ms
 *   zbeacon_peer listen PORT PREFIX MILLIS     prints "IP<TAB>HEX-PAYLOAD" per beacon heard, until
 *                                              MILLIS ms pass without one
 *
 * It prints "ready HOSTNAME" once the beacon is configured. Never linked into zvtran. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main (int argc, char *argv []) {
    if (argc != 5) {
        fprintf (stderr, "usage: zbeacon_peer publish|listen PORT PAYLOAD|PREFIX MILLIS\n");
        return 2;
    }
    int port = atoi (argv [2]);
    int millis = atoi (argv [4]);
    zactor_t *beacon = zactor_new (zbeacon, NULL);
    if (!beacon) {
        fprintf (stderr, "zbeacon_peer: zactor_new failed\n");
        return 1;
    }
    zsock_send (beacon, "si", "CONFIGURE", port);
    char *hostname = zstr_recv (beacon);
    if (!hostname || !*hostname) {
        fprintf (stderr, "zbeacon_peer: no broadcast interface\n");
        return 1;
    }
    printf ("ready %s\n", hostname);
    fflush (stdout);
    zstr_free (&hostname);
    int rc = 0;
    if (streq (argv [1], "publish")) {
        zsock_send (beacon, "sbi", "PUBLISH", argv [3], strlen (argv [3]), 100);
        zclock_sleep (millis);
        zstr_sendx (beacon, "SILENCE", NULL);
    }
    else
    if (streq (argv [1], "listen")) {
        zsock_send (beacon, "sb", "SUBSCRIBE", argv [3], strlen (argv [3]));
        zsock_set_rcvtimeo (beacon, millis);
        while (true) {
            zmsg_t *msg = zmsg_recv (beacon);
            if (!msg)
                break;
            char *ip = zmsg_popstr (msg);
            zframe_t *data = zmsg_pop (msg);
            if (ip && data) {
                printf ("%s\t", ip);
                for (size_t i = 0; i < zframe_size (data); i++)
                    printf ("%02x", zframe_data (data) [i]);
                printf ("\n");
                fflush (stdout);
            }
            zstr_free (&ip);
            zframe_destroy (&data);
            zmsg_destroy (&msg);
        }
    }
    else {
        fprintf (stderr, "zbeacon_peer: unknown mode %s\n", argv [1]);
        rc = 2;
    }
    zactor_destroy (&beacon);
    return rc;
}
