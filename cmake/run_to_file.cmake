# cmake -DPROGRAM=... "-DARGS=a;b" -DOUT=FILE -P run_to_file.cmake: runs PROGRAM ARGS with its stdout in FILE,
# written whole or not at all (a failed run leaves no half file that a later build would take as made).
execute_process(COMMAND "${PROGRAM}" ${ARGS} OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${PROGRAM} ${ARGS}: exit status ${status}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
