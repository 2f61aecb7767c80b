"""Notifications benchmarks: webhook deliveries per second to a local receiver, signed and recorded by the worker's
dispatcher, vs a bare pooled HTTP POST loop (goal >= 1,000/s and >= 0.5 of bare); a mailing to 10,000 recipients
into the development mailbox (goal < 60 s), vs a bare smtplib loop; event -> in-app notification p99 on the real
broker and consumer (goal < 1 s); and how many open live streams one gevent worker holds."""
