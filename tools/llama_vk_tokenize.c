/* llama-vk-tokenize: encodes text (or decodes ids) with the LLaMA-2 / LLaMA-3 tokenizer, and measures
 * the tokenizers' load time and encoding speed. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/platform.h"
#include "base/utf8.h"
#include "io/chat_messages.h"
#include "io/chat_template.h"
#include "io/config.h"
#include "io/tokenizer.h"

static const char usage[] =
    "usage: llama-vk-tokenize -V 2|3 [-F tokenizer.model] [--models DIR] [--no-bos] [--special] [--json]\n"
    "                         [-f FILE | TEXT] [--decode ID...] [--bench]\n"
    "       llama-vk-tokenize --chat-template llama2|llama3 --messages FILE.json [--no-generation-prompt] [--json]\n"
    "Encodes TEXT (or the exact bytes of FILE) and prints one 'id<TAB>piece' line per token; --json prints\n"
    "{\"ids\": [...], \"pieces\": [...]}. Pieces are the tokens as written in the tokenizer file; bytes that are\n"
    "not valid UTF-8 show as \\xNN. -V picks the model (2: LLaMA-2 SentencePiece, 3: LLaMA-3 tiktoken);\n"
    "without -F the model config's tokenizer.model is looked up (config folder, --models,\n"
    "$LLAMA_VK_MODELS, ./models). BOS is added unless --no-bos. --special turns special-token text\n"
    "(<s>, <|eot_id|>) into its id; otherwise it is ordinary text. --decode prints the text of the ids.\n"
    "--bench reports the tokenizer file's load time and encoding speed (MB/s) on mixed English/Chinese text.\n"
    "--chat-template renders the conversation of FILE.json ({\"messages\": [{\"role\", \"content\"}, ...]} or the\n"
    "bare array) as the chat model expects it, ending with the assistant's header (unless\n"
    "--no-generation-prompt); -V defaults to the template's model.\n";

typedef struct options {
    int version;
    const char *tokenizer_path, *models_dir, *input_file, *text, *messages_file;
    bool no_bos, special, json, bench, decode, no_generation_prompt;
    bool has_template;
    lvk_chat_template chat_template;
    int first_id_arg, argc;
    char **argv;
} options;

/* Writes piece bytes as text: valid UTF-8 as is, other bytes as \xNN. */
static size_t escape_piece(const char *s, size_t len, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = lvk_utf8_decode((const uint8_t *)s + i, len - i, &cp);
        if (n > 0 && cp >= 0x20 && cp != 0x7F) {
            memcpy(out + w, s + i, (size_t)n);
            w += (size_t)n;
            i += (size_t)n;
        } else {
            w += (size_t)sprintf(out + w, "\\x%02X", (uint8_t)s[i]);
            i++;
        }
    }
    out[w] = '\0';
    return w;
}

static bool read_whole_file(const char *path, char **data, size_t *len, lvk_err *err)
{
    lvk_file_map map;
    if (!lvk_file_map_open(&map, path, err))
        return false;
    *len = (size_t)map.size;
    *data = malloc(*len + 1);
    if (!*data) {
        lvk_file_map_close(&map);
        return lvk_fail(err, "%s: out of memory reading %zu bytes", path, *len);
    }
    if (*len)
        memcpy(*data, map.data, *len);
    lvk_file_map_close(&map);
    return true;
}

static bool load_tokenizer(const options *o, lvk_tokenizer **tok, char *path, size_t path_size, lvk_err *err)
{
    lvk_model_config cfg;
    if (!lvk_config_builtin(o->version, &cfg, err))
        return false;
    lvk_tokenizer_type type;
    if (!lvk_tokenizer_type_from_name(cfg.tokenizer_type, &type, err))
        return false;
    if (o->tokenizer_path)
        snprintf(path, path_size, "%s", o->tokenizer_path);
    else if (!lvk_config_resolve_file(&cfg, cfg.tokenizer_file, o->models_dir, path, path_size, err))
        return false;
    return lvk_tokenizer_load(tok, type, path, err);
}

static int print_tokens(const lvk_tokenizer *tok, const int32_t *ids, size_t n, bool json)
{
    char piece[4 * LVK_DETOK_MAX_PIECE + 1];
    if (!json) {
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *text = lvk_tokenizer_piece_text(tok, ids[i], &len);
            escape_piece(text, len, piece);
            printf("%d\t%s\n", (int)ids[i], piece);
        }
        return 0;
    }
    cJSON *root = cJSON_CreateObject(), *jids = cJSON_AddArrayToObject(root, "ids"),
          *jpieces = cJSON_AddArrayToObject(root, "pieces");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *text = lvk_tokenizer_piece_text(tok, ids[i], &len);
        escape_piece(text, len, piece);
        cJSON_AddItemToArray(jids, cJSON_CreateNumber(ids[i]));
        cJSON_AddItemToArray(jpieces, cJSON_CreateString(piece));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) {
        fprintf(stderr, "error: out of memory writing JSON\n");
        return 1;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

static int decode_ids(const lvk_tokenizer *tok, const options *o)
{
    size_t n = (size_t)(o->argc - o->first_id_arg);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "error: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *arg = o->argv[o->first_id_arg + (int)i];
        char *end;
        long v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v < 0 || v >= lvk_tokenizer_vocab_size(tok)) {
            fprintf(stderr, "error: --decode: '%s' is not a token id in [0, %d)\n", arg, lvk_tokenizer_vocab_size(tok));
            free(ids);
            return 2;
        }
        ids[i] = (int32_t)v;
    }
    char *text;
    size_t len;
    lvk_err err;
    bool ok = lvk_tokenizer_decode(tok, ids, n, &text, &len, &err);
    free(ids);
    if (!ok) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    free(text);
    return 0;
}

/* Mixed English/Chinese text (prose, code, numbers), repeated to a few MB for --bench. */
static const char bench_sample[] =
    "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.\n"
    "int main(void) { for (int i = 0; i < 10; i++) printf(\"%d\\n\", i * 42); return 0; }\n"
    "In 2023, 1,234,567 people visited the museum; tickets cost $12.50 (about 90 yuan).\n"
    "人工智能正在改变我们的生活方式。今天天气很好，我们去公园散步吧！大型语言模型可以回答问题、写代码和翻译文章。\n"
    "机器学习是人工智能的一个分支，它使计算机能够从数据中学习，而无需进行明确的编程。\n"
    "Large language models are trained on trillions of tokens of text from the web, books and code.\n";

static int bench(const options *o)
{
    char path[1024];
    lvk_err err;
    lvk_tokenizer *tok = NULL;
    if (!load_tokenizer(o, &tok, path, sizeof path, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    lvk_tokenizer_free(tok);
    const int loads = 5;
    double best_load = 1e30;
    for (int i = 0; i < loads; i++) {
        double t0 = lvk_now();
        if (!load_tokenizer(o, &tok, path, sizeof path, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            return 1;
        }
        double dt = lvk_now() - t0;
        if (dt < best_load)
            best_load = dt;
        if (i + 1 < loads)
            lvk_tokenizer_free(tok);
    }
    size_t sample_len = sizeof bench_sample - 1, target = 4u << 20;
    size_t len = (target / sample_len) * sample_len;
    char *text = malloc(len);
    if (!text) {
        fprintf(stderr, "error: out of memory\n");
        lvk_tokenizer_free(tok);
        return 1;
    }
    for (size_t off = 0; off < len; off += sample_len)
        memcpy(text + off, bench_sample, sample_len);
    double best_encode = 1e30;
    size_t n_ids = 0;
    for (int i = 0; i < 3; i++) {
        int32_t *ids;
        double t0 = lvk_now();
        if (!lvk_tokenizer_encode(tok, text, len, 0, &ids, &n_ids, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            free(text);
            lvk_tokenizer_free(tok);
            return 1;
        }
        double dt = lvk_now() - t0;
        free(ids);
        if (dt < best_encode)
            best_encode = dt;
    }
    printf("tokenizer: %s (%s, %d tokens)\n", path, lvk_tokenizer_type_name(lvk_tokenizer_get_type(tok)),
           lvk_tokenizer_vocab_size(tok));
    printf("load: %.1f ms (best of %d)\n", best_load * 1e3, loads);
    printf("encode: %.2f MB in %.1f ms = %.1f MB/s, %zu tokens (%.2f bytes/token, best of 3)\n", len / 1e6,
           best_encode * 1e3, len / 1e6 / best_encode, n_ids, (double)len / (double)n_ids);
    free(text);
    lvk_tokenizer_free(tok);
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->argc = argc;
    o->argv = argv;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "-V") == 0 && has_value) {
            const char *v = argv[++i];
            if (strcmp(v, "2") != 0 && strcmp(v, "3") != 0) {
                fprintf(stderr, "error: -V must be 2 or 3, not '%s'\n", v);
                return 2;
            }
            o->version = v[0] - '0';
        } else if (strcmp(a, "-F") == 0 && has_value) {
            o->tokenizer_path = argv[++i];
        } else if ((strcmp(a, "--models") == 0 || strcmp(a, "--models-dir") == 0) && has_value) {
            o->models_dir = argv[++i];
        } else if (strcmp(a, "-f") == 0 && has_value) {
            o->input_file = argv[++i];
        } else if (strcmp(a, "--no-bos") == 0) {
            o->no_bos = true;
        } else if (strcmp(a, "--special") == 0) {
            o->special = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--chat-template") == 0 && has_value) {
            lvk_err err;
            if (!lvk_chat_template_from_name(argv[++i], &o->chat_template, &err)) {
                fprintf(stderr, "error: --chat-template: %s\n", err.msg);
                return 2;
            }
            if (o->chat_template == LVK_CHAT_TEMPLATE_NONE) {
                fprintf(stderr, "error: --chat-template none renders nothing; give llama2 or llama3\n");
                return 2;
            }
            o->has_template = true;
        } else if (strcmp(a, "--messages") == 0 && has_value) {
            o->messages_file = argv[++i];
        } else if (strcmp(a, "--no-generation-prompt") == 0) {
            o->no_generation_prompt = true;
        } else if (strcmp(a, "--bench") == 0) {
            o->bench = true;
        } else if (strcmp(a, "--decode") == 0) {
            o->decode = true;
            o->first_id_arg = i + 1;
            break; /* the rest are ids */
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "error: unknown or incomplete option '%s'\n%s", a, usage);
            return 2;
        } else if (o->text) {
            fprintf(stderr, "error: more than one TEXT argument ('%s'); quote the text\n", a);
            return 2;
        } else {
            o->text = a;
        }
    }
    if (o->has_template != (o->messages_file != NULL)) {
        fprintf(stderr, "error: --chat-template and --messages go together\n%s", usage);
        return 2;
    }
    if (o->has_template && (o->text || o->input_file || o->decode || o->bench)) {
        fprintf(stderr, "error: --chat-template renders --messages FILE; it takes no TEXT, -f, --decode or --bench\n");
        return 2;
    }
    if (o->version == 0 && o->has_template)
        o->version = o->chat_template == LVK_CHAT_TEMPLATE_LLAMA2 ? 2 : 3;
    if (o->version == 0) {
        fprintf(stderr, "error: -V 2|3 is required (which model's tokenizer)\n%s", usage);
        return 2;
    }
    if (o->has_template)
        return -1;
    if (!o->bench && !o->decode && !o->text == !o->input_file) {
        fprintf(stderr, "error: give either TEXT or -f FILE\n%s", usage);
        return 2;
    }
    return -1;
}

static int render_chat(const lvk_tokenizer *tok, const options *o)
{
    lvk_chat chat;
    lvk_chat_init(&chat);
    lvk_err err;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (!lvk_chat_load_json(o->messages_file, &chat, &err) ||
        !lvk_chat_render(o->chat_template, tok, chat.messages, chat.n, !o->no_generation_prompt, &ids, &n_ids,
                         &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        lvk_chat_free(&chat);
        return 1;
    }
    int rc = print_tokens(tok, ids, n_ids, o->json);
    free(ids);
    lvk_chat_free(&chat);
    return rc;
}

static int run(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.bench)
        return bench(&o);
    char path[1024];
    lvk_err err;
    lvk_tokenizer *tok = NULL;
    if (!load_tokenizer(&o, &tok, path, sizeof path, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    if (o.decode || o.has_template) {
        rc = o.decode ? decode_ids(tok, &o) : render_chat(tok, &o);
        lvk_tokenizer_free(tok);
        return rc;
    }
    char *owned = NULL;
    const char *text = o.text;
    size_t len = o.text ? strlen(o.text) : 0;
    if (o.input_file) {
        if (!read_whole_file(o.input_file, &owned, &len, &err)) {
            fprintf(stderr, "error: %s\n", err.msg);
            lvk_tokenizer_free(tok);
            return 1;
        }
        text = owned;
    }
    int32_t *ids;
    size_t n_ids;
    int flags = (o.no_bos ? 0 : LVK_ENCODE_BOS) | (o.special ? LVK_ENCODE_SPECIAL : 0);
    if (!lvk_tokenizer_encode(tok, text, len, flags, &ids, &n_ids, &err)) {
        fprintf(stderr, "error: %s: %s\n", o.input_file ? o.input_file : "TEXT", err.msg);
        free(owned);
        lvk_tokenizer_free(tok);
        return 1;
    }
    rc = print_tokens(tok, ids, n_ids, o.json);
    free(ids);
    free(owned);
    lvk_tokenizer_free(tok);
    return rc;
}

int main(int argc, char **argv)
{
    return lvk_run_main(argc, argv, run);
}
