# Turns one SPIR-V binary into a C source holding it as a uint32_t array, so the programs
# carry their shaders inside them. Called as: cmake -DSPV=in.spv -DOUT=out.c -DNAME=k -P embed_spirv.cmake
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
math(EXPR rem "${nbytes} % 4")
if(NOT rem EQUAL 0)
  message(FATAL_ERROR "${SPV}: size ${nbytes} is not a multiple of 4")
endif()
# SPIR-V words are little-endian in the file: byte-swap each group of 8 hex digits into a word.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
string(REGEX REPLACE "(0x........u,0x........u,0x........u,0x........u,0x........u,0x........u,0x........u,0x........u,)" "\\1\n  " words "${words}")
file(WRITE ${OUT} "/* generated from ${NAME}.comp by embed_spirv.cmake: do not edit */\n#include <stddef.h>\n#include <stdint.h>\nconst uint32_t lvk_spv_${NAME}[] = {\n  ${words}\n};\nconst size_t lvk_spv_${NAME}_size = sizeof(lvk_spv_${NAME});\n")
