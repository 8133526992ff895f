# Units of the HTTP group: the metrics registry and the HTTP server (processor/ops/metrics.c,
# processor/ops/http.c), and checks of the Helm chart (no helm binary on the build machines).
ls_add_unit_test(test_metrics SOURCES unit/test_metrics.c LIBS ls_ops)
ls_add_unit_test(test_http SOURCES unit/test_http.c LIBS ls_ops PkgConfig::CURL)

# Static checks of the chart's files, and proof that each of those checks can fail.
set(LS_CHART_DIR ${CMAKE_SOURCE_DIR}/helm/loyalty-stream)
add_test(NAME test_helm_chart
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/helm/check_chart.sh ${LS_CHART_DIR})
add_test(NAME test_helm_chart_selftest
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/helm/check_chart.sh --self-test ${LS_CHART_DIR})
set_tests_properties(test_helm_chart test_helm_chart_selftest PROPERTIES LABELS unit)

# The chart rendered by the real Helm 3 engine (helm-java from Maven Central) and the
# manifests checked; skipped (77) without java/mvn or when Maven cannot resolve it.
add_test(NAME test_helm_render
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/helm/render_chart.sh ${LS_CHART_DIR})
set_tests_properties(test_helm_render PROPERTIES LABELS helm SKIP_RETURN_CODE 77 TIMEOUT 600)

# The metric names the chart's alert rules and dashboard query (check_metric_names.py; the
# comparison with a running processor's /metrics is in test_processor): the extraction
# finds them, and a name missing from /metrics fails the check.
add_test(NAME test_helm_metric_names_selftest
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/helm/check_metric_names.py --self-test
                 ${LS_CHART_DIR})
set_tests_properties(test_helm_metric_names_selftest PROPERTIES LABELS unit)
