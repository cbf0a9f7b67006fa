-- gen_re_attach of node :node; every row is sent to the client.
SELECT * FROM gencontrol.gen_re_attach(:node);
