/* Fuzzes the server's request parser (server/request.h) for both endpoints.
 * Input: a request body (any bytes). Checks: parsing either succeeds with valid UTF-8 texts inside the
 * documented ranges, or fails with a 4xx/5xx status, a type and a message, leaving nothing to free; the
 * error's JSON is itself valid JSON. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/utf8.h"
#include "server/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_text(const char *s, size_t len)
{
    return s && s[len] == '\0' && lvk_utf8_validate((const uint8_t *)s, len, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lvk_request_kind kinds[2] = {LVK_REQUEST_COMPLETION, LVK_REQUEST_CHAT};
    for (int k = 0; k < 2; k++) {
        lvk_request r;
        lvk_request_error e;
        memset(&e, 0, sizeof e);
        if (!lvk_request_parse(kinds[k], (const char *)data, size, &r, &e)) {
            if (e.status < 400 || e.status > 599 || !e.type || !e.message[0] || r.prompt || r.model || r.n_stop ||
                r.chat.n)
                abort();
            char *json = lvk_request_error_json(&e);
            cJSON *back = json ? cJSON_Parse(json) : NULL;
            if (json && !back)
                abort();
            cJSON_Delete(back);
            free(json);
            continue;
        }
        if (kinds[k] == LVK_REQUEST_COMPLETION && !valid_text(r.prompt, r.prompt_len))
            abort();
        if (kinds[k] == LVK_REQUEST_CHAT && r.chat.n == 0)
            abort();
        if (r.model && !valid_text(r.model, strlen(r.model)))
            abort();
        if (r.max_tokens < 0 || !(r.temperature >= 0 && r.temperature <= 2) || !(r.top_p > 0 && r.top_p <= 1) ||
            r.n_stop < 0 || r.n_stop > LVK_REQUEST_MAX_STOP)
            abort();
        for (int i = 0; i < r.n_stop; i++)
            if (!valid_text(r.stop[i], r.stop_len[i]) || r.stop_len[i] == 0 ||
                r.stop_len[i] > LVK_REQUEST_MAX_STOP_LEN)
                abort();
        lvk_request_free(&r);
    }
    return 0;
}
