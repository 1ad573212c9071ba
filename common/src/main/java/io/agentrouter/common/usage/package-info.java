/** Usage records: one per finished data-plane request, the unit of metering and billing. */
@NullMarked
package io.agentrouter.common.usage;

import org.jspecify.annotations.NullMarked;
