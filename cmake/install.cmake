# cmake --install and cpack -G DEB (included by CMakeLists.txt once the executables are defined).
#   bin/xsearch                     the command users run (no LibTorch, no FFmpeg: fast start)
#   libexec/xsearch/xsearch-media   its helpers, which it finds there (cli/full_exec.hpp)
#   libexec/xsearch/xsearch-full
#   share/man/man1/xsearch.1        `xsearch help-man`
#   share/bash-completion/completions/xsearch, share/zsh/vendor-completions/_xsearch,
#   share/fish/vendor_completions.d/xsearch.fish: `xsearch completion bash|zsh|fish`
# The page's assets are compiled into the executables (src/serve/embed_assets.cmake): nothing to install.
# The man page and the completions are made at build time by the xsearch just built, from the same model
# of the commands as --help.

set(xsearch_share "${CMAKE_BINARY_DIR}/share")
set(xsearch_generated_files)
# xsearch_generate(FILE DESTINATION ARGS...): FILE (under build/share) is the output of `xsearch ARGS`,
# installed to DESTINATION.
function(xsearch_generate file destination)
  get_filename_component(dir "${xsearch_share}/${file}" DIRECTORY)
  add_custom_command(OUTPUT "${xsearch_share}/${file}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
    COMMAND ${CMAKE_COMMAND} "-DPROGRAM=$<TARGET_FILE:xsearch>" "-DARGS=${ARGN}" "-DOUT=${xsearch_share}/${file}"
            -P "${CMAKE_SOURCE_DIR}/cmake/run_to_file.cmake"
    DEPENDS xsearch "${CMAKE_SOURCE_DIR}/cmake/run_to_file.cmake" VERBATIM)
  install(FILES "${xsearch_share}/${file}" DESTINATION "${destination}")
  set(xsearch_generated_files ${xsearch_generated_files} "${xsearch_share}/${file}" PARENT_SCOPE)
endfunction()
xsearch_generate(man/man1/xsearch.1 "${CMAKE_INSTALL_MANDIR}/man1" help-man)
xsearch_generate(bash-completion/completions/xsearch "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" completion bash)
xsearch_generate(zsh/vendor-completions/_xsearch "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" completion zsh)
xsearch_generate(fish/vendor_completions.d/xsearch.fish "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" completion fish)
add_custom_target(xsearch_help_files ALL DEPENDS ${xsearch_generated_files})

install(TARGETS xsearch RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(TARGETS xsearch-media xsearch-full RUNTIME DESTINATION "${CMAKE_INSTALL_LIBEXECDIR}/xsearch")
# The systemd user units of `xsearch watch` (packaging/systemd/): lib/systemd/user under the prefix is on the
# user manager's search path for /usr and /usr/local alike.
install(FILES packaging/systemd/xsearch-watch.service packaging/systemd/xsearch-watch@.service DESTINATION lib/systemd/user)

# ---- the Debian package: cpack -G DEB in the build folder (scripts/check-deb.sh installs it in a fresh
# Debian 12 root). Depends come from dpkg-shlibdeps over the installed executables (the packages that hold
# the libraries they load, LibTorch's and FFmpeg's included), plus the OpenMP OpenBLAS their RUNPATH names.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME xsearch)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "search a folder of videos in plain language")
set(CPACK_PACKAGE_DESCRIPTION "xsearch indexes the videos under folders with X-CLIP and finds the clips that\nmatch a text, an image or another clip, from the command line or a local web page.")
set(CPACK_PACKAGE_CONTACT "xsearch maintainers <xsearch@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(XSEARCH_OPENMP_BLAS_DIR MATCHES "/openblas-openmp$")
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-openmp")
endif()
# ffmpeg (ffplay) plays a hit with query --open when no other player is installed.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ffmpeg | mpv | vlc")
include(CPack)
