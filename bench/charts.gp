# The two charts of bench/results/REPORT.md, drawn from the .dat files bench/report.py writes.
#   gnuplot -e "dir='bench/results'" bench/charts.gp
if (!exists("dir")) dir = "bench/results"
set datafile missing "NaN"
set terminal pngcairo size 1000,640 font "sans,11"
set key top left box opaque
set grid

# Latency against batch size: batch validate and re-attach, log-log, with a slope-1 guide.
set output dir."/latency_vs_batch.png"
set title "Latency against batch size (median, single client; lower is better)"
set logscale xy
set xlabel "shards in the batch"
set ylabel "latency (ms)"
set format x "%.0s%c"
stats dir."/batch.dat" using 1:2 nooutput
first_size = STATS_min_x
first_ms = STATS_min_y
set xrange [STATS_min_x / 1.5 : STATS_max_x * 1.5]
plot dir."/batch.dat" using 1:2 with linespoints lw 2 pt 7 title "gen\\_validate(array)", \
     ""               using 1:3 with linespoints lw 2 pt 5 title "unnest join (plain SQL)", \
     ""               using 1:4 with linespoints lw 2 pt 9 title "Neon: 32-tuple IN lists", \
     ""               using 1:5 with linespoints lw 2 pt 7 dt 2 title "gen\\_re\\_attach", \
     ""               using 1:6 with linespoints lw 2 pt 5 dt 2 title "UPDATE + SELECT (plain, indexed)", \
     ""               using 1:7 with linespoints lw 2 pt 11 dt 2 title "PL/pgSQL re-attach", \
     ""               using 1:8 with linespoints lw 2 pt 9 dt 2 title "Neon re-attach verbatim (no index)", \
     first_ms * x / first_size with lines lc rgb "#aaaaaa" dt 3 title "linear growth from gen\\_validate's first point"

# Requests per second against concurrent clients: the shim (wrk) and the same SQL (pgbench).
set output dir."/requests_vs_clients.png"
set title "Requests per second against concurrent clients (higher is better)"
unset logscale
set xrange [*:*]
set logscale x 2
set format x "%g"
set xlabel "concurrent clients (wrk connections / pgbench clients)"
set ylabel "requests/s"
set yrange [0:*]
plot dir."/clients.dat" using 1:2 with linespoints lw 2 pt 7 title "128-entry validate, SQL (pgbench)", \
     ""                 using 1:3 with linespoints lw 2 pt 5 title "128-entry validate, shim (wrk)", \
     ""                 using 1:4 with linespoints lw 2 pt 7 dt 2 title "attach, SQL (pgbench)", \
     ""                 using 1:5 with linespoints lw 2 pt 5 dt 2 title "attach-hook, shim (wrk)"
