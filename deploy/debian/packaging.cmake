# SPDX-License-Identifier: MIT
# Debian packages (CPack DEB, one per component): botpulse-agent, botpulse-collector and
# botpulse-ctl. Build them with scripts/package.sh (or `cpack` in a build directory). The
# files below install only into a package (EXCLUDE_FROM_ALL), so a plain `cmake --install`
# still installs the binaries alone, under its prefix.
#
#   botpulse-agent      /usr/bin/botpulse-agent{,-tls}, its unit, sysusers.d entry, the polkit
#                       rule for restarting bots' units, /etc/botpulse/agent.example.ini, the
#                       notify SDK in /usr/share/botpulse/sdk
#   botpulse-collector  /usr/bin/botpulse-collector, its unit, sysusers.d entry,
#                       /etc/botpulse/collector.example.ini, and for the central host in
#                       /usr/share/botpulse: add-agent.sh, make-certs.sh, the mosquitto
#                       settings and ACL, the Prometheus rules, the Grafana dashboard
#   botpulse-ctl        /usr/bin/botpulse-ctl
# Depends are computed by dpkg-shlibdeps from the binaries.

set(BP_DEB_DIR ${PROJECT_SOURCE_DIR}/deploy/debian)
set(BP_DEB_OUT ${PROJECT_BINARY_DIR}/debian)
set(BP_SHARE share/botpulse)

# /usr/share/doc/<package>/copyright: the MIT licence of LICENSE, in Debian's format.
file(READ ${PROJECT_SOURCE_DIR}/LICENSE BP_LICENSE_TEXT)
string(REGEX REPLACE "\n\n" "\n.\n" BP_LICENSE_DEB "${BP_LICENSE_TEXT}")
string(REGEX REPLACE "\n([^\n])" "\n \\1" BP_LICENSE_DEB "${BP_LICENSE_DEB}")
file(WRITE ${BP_DEB_OUT}/copyright
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: botpulse\n\nFiles: *\nCopyright: the botpulse authors\nLicense: MIT\n"
  " ${BP_LICENSE_DEB}")

# Maintainer scripts and conffiles per package, from one template each.
function(bp_deb_scripts comp unit purge)
  set(PKG botpulse-${comp})
  set(UNIT ${unit})
  set(PURGE "${purge}")
  set(out ${BP_DEB_OUT}/${comp})
  foreach(script postinst prerm postrm)
    configure_file(${BP_DEB_DIR}/${script}.in ${out}/${script} @ONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
      WORLD_READ WORLD_EXECUTE)
  endforeach()
  string(TOUPPER ${comp} COMP)
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA
    ${out}/postinst ${out}/prerm ${out}/postrm ${out}/conffiles PARENT_SCOPE)
endfunction()

# ---- botpulse-agent ----------------------------------------------------------------------------
install(TARGETS botpulse-agent botpulse-agent-tls RUNTIME DESTINATION bin COMPONENT agent
  EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/botpulse-agent.service
  DESTINATION /lib/systemd/system COMPONENT agent EXCLUDE_FROM_ALL)
install(FILES ${BP_DEB_DIR}/sysusers-botpulse.conf DESTINATION lib/sysusers.d
  RENAME botpulse-agent.conf COMPONENT agent EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/agent.example.ini DESTINATION /etc/botpulse
  COMPONENT agent EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/polkit/50-botpulse-agent.rules
  DESTINATION /etc/polkit-1/rules.d COMPONENT agent EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/sdk/ DESTINATION ${BP_SHARE}/sdk
  COMPONENT agent EXCLUDE_FROM_ALL)
install(FILES ${BP_DEB_OUT}/copyright DESTINATION share/doc/botpulse-agent
  COMPONENT agent EXCLUDE_FROM_ALL)
file(WRITE ${BP_DEB_OUT}/agent/conffiles
  "/etc/botpulse/agent.example.ini\n/etc/polkit-1/rules.d/50-botpulse-agent.rules\n")
bp_deb_scripts(agent botpulse-agent.service "rm -rf /var/lib/botpulse-agent")

# ---- botpulse-collector ------------------------------------------------------------------------
install(TARGETS botpulse-collector RUNTIME DESTINATION bin COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/botpulse-collector.service
  DESTINATION /lib/systemd/system COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${BP_DEB_DIR}/sysusers-botpulse.conf DESTINATION lib/sysusers.d
  RENAME botpulse-collector.conf COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/collector.example.ini DESTINATION /etc/botpulse
  COMPONENT collector EXCLUDE_FROM_ALL)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/deploy/add-agent.sh
  ${PROJECT_SOURCE_DIR}/deploy/mosquitto/make-certs.sh DESTINATION ${BP_SHARE}
  COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/mosquitto/botpulse.conf
  ${PROJECT_SOURCE_DIR}/deploy/mosquitto/botpulse.acl DESTINATION ${BP_SHARE}/mosquitto
  COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/botpulse-rules.yml
  DESTINATION ${BP_SHARE}/prometheus COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/grafana/botpulse.json
  DESTINATION ${BP_SHARE}/grafana COMPONENT collector EXCLUDE_FROM_ALL)
install(FILES ${BP_DEB_OUT}/copyright DESTINATION share/doc/botpulse-collector
  COMPONENT collector EXCLUDE_FROM_ALL)
file(WRITE ${BP_DEB_OUT}/collector/conffiles "/etc/botpulse/collector.example.ini\n")
bp_deb_scripts(collector botpulse-collector.service ":")

# ---- botpulse-ctl ------------------------------------------------------------------------------
install(TARGETS botpulse-ctl RUNTIME DESTINATION bin COMPONENT ctl EXCLUDE_FROM_ALL)
install(FILES ${BP_DEB_OUT}/copyright DESTINATION share/doc/botpulse-ctl
  COMPONENT ctl EXCLUDE_FROM_ALL)

# ---- CPack ---------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME botpulse)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the botpulse authors")
set(CPACK_PACKAGE_CONTACT "botpulse maintainers <maintainers@users.noreply.b-seed-0bc768a3.example>")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL agent collector ctl)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME botpulse-agent)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME botpulse-collector)
set(CPACK_DEBIAN_CTL_PACKAGE_NAME botpulse-ctl)
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS polkitd)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_RECOMMENDS "mosquitto, mosquitto-clients, postgresql, openssl")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_SUGGESTS "botpulse-ctl, prometheus")
# The first line is the synopsis; CPack indents the others.
set(CPACK_COMPONENT_AGENT_DESCRIPTION "botpulse agent: watches the trading bots on this host
One per host: reads /proc, the bots' pid, heartbeat and log files, and publishes heartbeats,
stats, trades and events over MQTT to the botpulse collector; runs the restart lines of its
own config when the collector sends a signed command.")
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION "botpulse collector: fleet health for trading bots
One per fleet: judges every bot from its agents' MQTT messages on deadlines, raises alerts
(MQTT, webhook), restarts bots through signed commands, keeps history in PostgreSQL and
serves an HTTP API, Prometheus metrics and a dashboard.")
set(CPACK_COMPONENT_CTL_DESCRIPTION "botpulse-ctl: command line for the botpulse collector
Status, bots, history, alerts, silences, restarts and audit reports over the collector's
HTTP API.")
include(CPack)
